"""Where another service of the platform answers, and a channel to it.

`MKT_<SERVICE>_TARGET` (host:port) names it; by default it is the service's
own gRPC port on this machine (`MKT_<SERVICE>_GRPC_PORT`, or its default).
Calls stay plain: mutual TLS, retries and circuit breaking are the mesh's
(a local Envoy sidecar or Istio), never the caller's."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc

from svc_kit.config import ConfigError, grpc_port
from svc_kit.settings_spec import Variable
from svc_kit.services import BY_NAME
from svc_kit.tracing import traced_channel


def target_variable(service: str) -> Variable:
    spec = BY_NAME[service]
    return Variable(f"{spec.env_prefix}TARGET", "text", "", f"host:port where the {service} service answers",
                    shown_default=f"127.0.0.1:{spec.env_prefix}GRPC_PORT")


def service_target(env: Mapping[str, str], service: str) -> str:
    spec = BY_NAME[service]
    variable = target_variable(service)
    target = variable.read(env)
    if target:
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"{variable.name}={target!r} must be host:port")
        return target
    return f"127.0.0.1:{grpc_port(spec).read(env)}"


def service_channel(env: Mapping[str, str], service: str, options: Sequence[tuple[str, Any]] = ()) -> grpc.aio.Channel:
    """An aio channel to `service` that carries the caller's trace context; `options` are gRPC channel arguments."""
    return traced_channel(service_target(env, service), options)


class Peer:
    """A client of another service; its channel opens on the first call. No retries or circuit
    breaking here: the mesh owns those."""

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
