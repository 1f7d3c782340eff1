"""What the audience and content clients share: a channel opened on first
use (svc_kit.clients.Peer, imported from there), call limits, and a failed call turned into the ports' Unavailable.

No retries or circuit breaking here: the mesh owns those."""

from __future__ import annotations

import grpc

from svc_notify.service_layer.ports import Unavailable

CALL_TIMEOUT = 10.0
BATCH = 1000


def unavailable(service: str, error: grpc.aio.AioRpcError) -> Unavailable:
    return Unavailable(service, error.code().name, error.details() or "")
