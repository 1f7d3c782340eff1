"""Ports and addresses of the edge, from the environment like the services'."""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Mapping
from dataclasses import dataclass

from svc_kit.config import BIND_HOST, ConfigError, grpc_port, state_dir
from svc_kit.services import SERVICES, ServiceSpec
from svc_kit.settings_spec import Variable

MAX_REQUEST_BYTES = 1024 * 1024

UPSTREAM_HOST = Variable("MKT_UPSTREAM_HOST", "text", "127.0.0.1", "host where the edge finds the services",
                         blank_is_unset=False)
PORT = Variable("MKT_EDGE_PORT", "port", 8080, "port of the REST and gRPC-Web edge (Envoy)")
ADMIN_PORT = Variable("MKT_EDGE_ADMIN_PORT", "port", 9901, "port of Envoy's admin interface")
HEALTH_PORT = Variable("MKT_EDGE_HEALTH_PORT", "port", 8079, "port of the /healthz aggregator")
# Checked below with its own message (a byte count), as before.
MAX_REQUEST = Variable("MKT_EDGE_MAX_REQUEST_BYTES", "integer", MAX_REQUEST_BYTES,
                       "largest request body; a larger one answers 413", low=1024, high=64 * 1024 * 1024, blank_is_unset=False)
MESH_CERTS = Variable("MKT_MESH_CERTS", "path", None,
                      "certificates of the local mesh (set by `make run` when the mesh is on): /healthz then "
                      "checks each service through its sidecar")
JWT_ISSUER = Variable("MKT_AUTH_JWT_ISSUER", "text", "mkt-dev",
                      "issuer (`iss`) every JWT must name; `mkt token dev` signs with it", blank_is_unset=False)
JWT_AUDIENCE = Variable("MKT_AUTH_JWT_AUDIENCE", "text", "marketing-platform",
                        "audience (`aud`) every JWT must include", blank_is_unset=False)
JWKS_FILE = Variable("MKT_AUTH_JWKS_FILE", "path", None,
                     "JSON Web Key Set (RS256/ES256 public keys) the edge verifies JWTs with, from a file",
                     shown_default="<state dir>/auth/jwks.json (made by `make run` with a development key)")
JWKS_URL = Variable("MKT_AUTH_JWKS_URL", "url", None,
                    "JWKS from an identity provider's URL (https), fetched and cached by the edge; "
                    "replaces MKT_AUTH_JWKS_FILE")
VARIABLES = ((BIND_HOST, UPSTREAM_HOST, PORT, ADMIN_PORT, HEALTH_PORT, MAX_REQUEST, MESH_CERTS,
              JWT_ISSUER, JWT_AUDIENCE, JWKS_FILE, JWKS_URL)
             + tuple(grpc_port(spec) for spec in SERVICES))


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
    jwt_issuer: str = "mkt-dev"
    jwt_audience: str = "marketing-platform"
    jwks_file: Path | None = None
    jwks_url: str | None = None


def load_edge_settings(env: Mapping[str, str] | None = None) -> EdgeSettings:
    env = os.environ if env is None else env
    host = BIND_HOST.read(env)
    upstream_host = UPSTREAM_HOST.read(env)
    limit = env.get(MAX_REQUEST.name, str(MAX_REQUEST.default))
    if not limit.isdigit() or not MAX_REQUEST.low <= int(limit) <= MAX_REQUEST.high:
        raise ConfigError(f"{MAX_REQUEST.name}={limit!r} must be a byte count from 1024 to 67108864")
    certs = MESH_CERTS.read(env)
    return EdgeSettings(
        host=host,
        port=PORT.read(env),
        admin_port=ADMIN_PORT.read(env),
        health_port=HEALTH_PORT.read(env),
        max_request_bytes=int(limit),
        upstreams=tuple(Upstream(spec, upstream_host, grpc_port(spec).read(env)) for spec in SERVICES),
        mesh_certs=Path(certs) if certs else None,
        jwt_issuer=JWT_ISSUER.read(env),
        jwt_audience=JWT_AUDIENCE.read(env),
        jwks_file=Path(JWKS_FILE.read(env) or state_dir(env) / "auth" / "jwks.json"),
        jwks_url=JWKS_URL.read(env),
    )
