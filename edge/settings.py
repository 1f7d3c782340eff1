"""Ports and addresses of the edge, from the environment like the services'."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse
from collections.abc import Mapping
from dataclasses import dataclass

from svc_kit.config import BIND_HOST, OTLP_ENDPOINT, ConfigError, grpc_port, state_dir
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
RATE_LIMIT = Variable("MKT_EDGE_RATE_LIMIT_PER_MINUTE", "integer", 1200,
                      "requests per minute each principal (API key or JWT subject) may make through the edge; "
                      "more answer 429 with Retry-After; 0 turns rate limiting off", low=0, high=6_000_000)
RATE_BURST = Variable("MKT_EDGE_RATE_LIMIT_BURST", "integer", 200,
                      "requests a principal may make at once before the per-minute rate applies (its token "
                      "bucket's size)", low=1, high=1_000_000)
PUBLIC_RATE_LIMIT = Variable("MKT_EDGE_PUBLIC_RATE_LIMIT_PER_MINUTE", "integer", 6000,
                             "requests per minute shared by every call without credentials (public routes: "
                             "clicks, opens, unsubscribes, provider callbacks, /healthz, /docs); burst as many",
                             low=1, high=6_000_000)
CORS_ORIGINS = Variable("MKT_EDGE_CORS_ORIGINS", "text", "",
                        "dashboard origins allowed to call the REST API from a browser (CORS), comma separated, "
                        "e.g. `https://dash.example.com,http://localhost:3000`; none by default")
VARIABLES = ((BIND_HOST, UPSTREAM_HOST, PORT, ADMIN_PORT, HEALTH_PORT, MAX_REQUEST, MESH_CERTS,
              JWT_ISSUER, JWT_AUDIENCE, JWKS_FILE, JWKS_URL, RATE_LIMIT, RATE_BURST, PUBLIC_RATE_LIMIT, CORS_ORIGINS,
              OTLP_ENDPOINT)
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
    rate_limit_per_minute: int = 0  # per principal; 0: off
    rate_limit_burst: int = 200
    public_rate_limit_per_minute: int = 6000
    cors_origins: tuple[str, ...] = ()
    # OTEL_EXPORTER_OTLP_ENDPOINT: the edge (and the sidecars) trace every request into this collector.
    otlp_endpoint: str | None = None


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
        rate_limit_per_minute=int(RATE_LIMIT.read(env)),
        rate_limit_burst=int(RATE_BURST.read(env)),
        public_rate_limit_per_minute=int(PUBLIC_RATE_LIMIT.read(env)),
        cors_origins=_origins(CORS_ORIGINS.read(env)),
        otlp_endpoint=OTLP_ENDPOINT.read(env),
    )


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        url = urlparse(origin)
        if url.scheme not in ("http", "https") or not url.netloc or url.path or url.query:
            raise ConfigError(f"{CORS_ORIGINS.name}: {origin!r} is not an origin such as https://dash.example.com")
    return origins
