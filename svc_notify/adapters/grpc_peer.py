"""What the audience and content clients share: a channel opened on first
use, call limits, and a failed call turned into the ports' Unavailable.

No retries or circuit breaking here: the mesh owns those."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from svc_notify.service_layer.ports import Unavailable

CALL_TIMEOUT = 10.0
BATCH = 1000


def unavailable(service: str, error: grpc.aio.AioRpcError) -> Unavailable:
    return Unavailable(service, error.code().name, error.details() or "")


class Peer:
    """A client of another service; its channel opens on the first call."""

    def __init__(self, channel_factory: Callable[[], grpc.aio.Channel], stub_class: Callable[[grpc.aio.Channel], Any]):
        self.channel_factory = channel_factory
        self.stub_class = stub_class
        self._stub: Any = None
        self._channel: grpc.aio.Channel | None = None

    @property
    def stub(self) -> Any:
        if self._stub is None:
            self._channel = self.channel_factory()
            self._stub = self.stub_class(self._channel)
        return self._stub

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
