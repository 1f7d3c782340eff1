"""Ports and addresses of the edge, from the environment like the services'."""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Mapping
from dataclasses import dataclass

from svc_kit.config import ConfigError, EnvReader
from svc_kit.services import SERVICES, ServiceSpec

MAX_REQUEST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Upstream:
    spec: ServiceSpec
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class EdgeSettings:
    host: str
    port: int
    admin_port: int
    health_port: int
    max_request_bytes: int
    upstreams: tuple[Upstream, ...]
    # The local mesh's certificates (MKT_MESH_CERTS, set by the supervisor when the mesh is on):
    # the /healthz aggregator then checks each service through its sidecar with the edge's.
    mesh_certs: Path | None = None


def load_edge_settings(env: Mapping[str, str] | None = None) -> EdgeSettings:
    env = os.environ if env is None else env
    read = EnvReader(env)
    host = env.get("MKT_BIND_HOST", "127.0.0.1")
    upstream_host = env.get("MKT_UPSTREAM_HOST", "127.0.0.1")
    limit = env.get("MKT_EDGE_MAX_REQUEST_BYTES", str(MAX_REQUEST_BYTES))
    if not limit.isdigit() or not 1024 <= int(limit) <= 64 * 1024 * 1024:
        raise ConfigError(f"MKT_EDGE_MAX_REQUEST_BYTES={limit!r} must be a byte count from 1024 to 67108864")
    return EdgeSettings(
        host=host,
        port=read.port("MKT_EDGE_PORT", 8080),
        admin_port=read.port("MKT_EDGE_ADMIN_PORT", 9901),
        health_port=read.port("MKT_EDGE_HEALTH_PORT", 8079),
        max_request_bytes=int(limit),
        upstreams=tuple(
            Upstream(spec, upstream_host, read.port(spec.env_prefix + "GRPC_PORT", spec.grpc_port))
            for spec in SERVICES
        ),
        mesh_certs=Path(env["MKT_MESH_CERTS"]) if env.get("MKT_MESH_CERTS") else None,
    )
