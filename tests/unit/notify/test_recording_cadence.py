"""The dispatcher records its sends' outcomes as they settle: an outcome waits at most `flush_seconds`
for company, even when the next send is slow (what a crash could hand over twice is what waits), and
`flush_every` outcomes are recorded together at most."""

from __future__ import annotations

import asyncio

from svc_kit.channels import Channel

from svc_notify.domain.model import Message
from svc_notify.service_layer.dispatch.work import DispatchConfig, Settled
from svc_notify.service_layer.dispatcher import Dispatcher


class Recording:
    def __init__(self, watched: list[asyncio.Task]):
        self.watched = watched
        self.writes: list[tuple[list[str], list[bool]]] = []  # (message ids, which watched tasks were done)

    async def record(self, token: str, outcomes: list[Settled]) -> None:
        if outcomes:
            self.writes.append(([o.message.id for o in outcomes], [t.done() for t in self.watched]))
        outcomes.clear()


def settled(message_id: str) -> Settled:
    return Settled(Message("w", message_id, Channel.EMAIL, "p", f"k-{message_id}"))


def record(config: DispatchConfig, plan: list[tuple[str, asyncio.Event | None]]):
    """Sends that settle at once, or once their event is set; the recorder's writes."""
    async def go():
        dispatcher = Dispatcher(lambda: None, None, None, None, config)

        async def send(message_id: str, gate: asyncio.Event | None) -> Settled:
            if gate is not None:
                await gate.wait()
            return settled(message_id)

        tasks = [asyncio.create_task(send(i, gate)) for i, gate in plan]
        dispatcher.recorder = recorder = Recording(tasks)
        recording = asyncio.create_task(dispatcher._record_as_they_settle("token", tasks))
        deadline = asyncio.get_running_loop().time() + 10
        while not recorder.writes:  # the quick ones are recorded while the slow one still runs
            assert asyncio.get_running_loop().time() < deadline, "nothing recorded while a send was slow"
            await asyncio.sleep(0.01)
        for _, gate in plan:
            if gate is not None:
                gate.set()
        await recording
        return recorder.writes

    return asyncio.run(go())


def test_an_outcome_does_not_wait_for_a_slow_send_to_be_recorded():
    writes = record(DispatchConfig(flush_seconds=0.05), [("a", None), ("b", None), ("slow", asyncio.Event())])
    assert writes[0][0] == ["a", "b"] and writes[0][1] == [True, True, False]
    assert [ids for ids, _ in writes] == [["a", "b"], ["slow"]]


def test_at_most_flush_every_outcomes_wait_together():
    writes = record(DispatchConfig(flush_seconds=60, flush_every=2),
                    [("a", None), ("b", None), ("c", None), ("d", None), ("e", None)])
    assert [len(ids) for ids, _ in writes] == [2, 2, 1]  # the last one with the pass's end
    assert sorted(i for ids, _ in writes for i in ids) == ["a", "b", "c", "d", "e"]
