"""What the provider adapters share (email over SMTP in smtp_sender.py, SMS and
push over HTTP in http_senders.py): their base class and the lanes their calls
run on. Each answers an Outcome: accepted, or a transient failure (timeouts,
429 with Retry-After, 5xx, SMTP 4xx: retried later) or a permanent one (other
4xx, SMTP 5xx: the message fails with the provider's answer).

Provider retries belong to the dispatcher (backoff with full jitter); these
adapters make exactly one attempt per call. Each passes the message's id to
the provider (the Message-ID header; an `Idempotency-Key` header on HTTP) so a
provider can deduplicate a message sent twice after a crash."""

from __future__ import annotations

import abc
import asyncio

from svc_notify.service_layer.ports import Outcome


class Sender(abc.ABC):
    @abc.abstractmethod
    async def check(self) -> Outcome:
        """Connects and authenticates; sends nothing."""

    async def close(self) -> None:
        return None


class Lanes:
    """Runs calls on a few long-lived tasks: httpx (through anyio) keeps state per
    task, so a few tasks making many requests cost much less than many tasks making
    one each (about a third less CPU per request here); SMTP sessions are used the
    same way. Also bounds the calls in flight."""

    def __init__(self, size: int):
        self.size = size
        self.queue: asyncio.Queue | None = None
        self.tasks: list[asyncio.Task] = []

    async def run(self, fn, *args):
        if self.queue is None:
            self.queue = asyncio.Queue()
            self.tasks = [asyncio.create_task(self._lane()) for _ in range(self.size)]
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((fn, args, future))
        return await future

    async def _lane(self) -> None:
        while True:
            fn, args, future = await self.queue.get()
            if future.done():
                continue
            try:
                result = await fn(*args)
            except asyncio.CancelledError:
                future.cancel()
                raise
            except Exception as error:  # noqa: BLE001 - handed to the caller
                if not future.done():
                    future.set_exception(error)
            else:
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks, self.queue = [], None
