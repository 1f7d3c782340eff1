"""The local mesh on one machine (`make run`, Tilt): one Envoy sidecar per service, rendered from
mesh/policy.yaml by mesh/envoy.py, with certificates from a CA made at each start (mesh/ca.py).

On/off: MKT_MESH=on (the default of `make run` and Tilt) or off.

Ports. A service's public gRPC port (MKT_<SERVICE>_GRPC_PORT: 50051, ...) becomes its sidecar's
mutual-TLS inbound listener; the service itself moves to a loopback port. With
MKT_MESH_PORT_BASE (default 15000), the service at position i in svc_kit/services.py
(campaign 1, audience 2, content 3, analytics 4, notify 5, integrations 6) gets the ports
base + 10*i + k:

    k = 0      its sidecar's admin interface (stats: http://127.0.0.1:15010/stats)   campaign: 15010
    k = j      its sidecar's outbound listener for the service at position j        campaign -> audience: 15012
    k = 9      the service itself, plaintext on 127.0.0.1                          campaign: 15019

A service is told where its callees are with MKT_<CALLEE>_TARGET=127.0.0.1:<outbound port>, only
for the callees the policy declares (`Policy.callees`); the others stay unreachable.

Files, made again at every start under <state>/mesh/:

    certs/ca.crt, ca.key             the CA (30 days)
    certs/<identity>.crt, .key       each service's and the edge's certificate (24 hours, renewed
                                     every 12 by the supervisor), URI SAN
                                     spiffe://cluster.local/ns/marketing/sa/<service account>
    certs/sds/<identity>.json        the same, as the Envoy secret the sidecars and the edge read
                                     (file-based SDS: a renewed certificate is used without a restart)
    <service>-sidecar.json           the sidecars' Envoy configs
    <service>.env                    (python -m mesh.local only) the service's variables, for Tilt

Health: the supervisor checks each service on its loopback port (it is no mesh workload); the
edge's /healthz aggregator (edge/healthz.py) checks through the sidecars with the edge's
certificate (MKT_MESH_CERTS), as the policy allows the edge `grpc.health.v1.Health/Check`.

    python -m mesh.local [--state DIR]    # makes all of the above and the edge's config (Tilt's setup)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from svc_kit.config import OTLP_ENDPOINT, ConfigError, EnvReader, state_dir
from svc_kit.services import BY_NAME, SERVICES

from mesh import ca, envoy
from mesh.policy import Policy, load

MESH_VARIABLE = "MKT_MESH"
PORT_BASE_VARIABLE = "MKT_MESH_PORT_BASE"
CERTS_VARIABLE = "MKT_MESH_CERTS"
DEFAULT_PORT_BASE = 15000
BLOCK = 10
APP_OFFSET = 9
EDGE_IDENTITY = "edge"
RENEW_AFTER_SECONDS = 12 * 3600  # workload certificates live 24 hours (mesh/ca.py)
_ON, _OFF = ("on", "true", "1", "yes"), ("off", "false", "0", "no")


def enabled(env: Mapping[str, str], default: bool = True) -> bool:
    """MKT_MESH: on (default) or off."""
    raw = env.get(MESH_VARIABLE, "").strip().lower()
    if not raw:
        return default
    if raw in _ON:
        return True
    if raw in _OFF:
        return False
    raise ConfigError(f"{MESH_VARIABLE}={raw!r} must be on or off")


def position(service: str) -> int:
    return [spec.name for spec in SERVICES].index(service) + 1


def port_plan(base: int, service: str, callees: tuple[str, ...]) -> tuple[int, int, dict[str, int]]:
    """(admin port, service's loopback port, {callee: outbound port}) of a service's sidecar."""
    block = base + BLOCK * position(service)
    return block, block + APP_OFFSET, {callee: block + position(callee) for callee in callees}


@dataclass(frozen=True)
class Sidecar:
    name: str  # the service's
    host: str  # where the inbound listener binds (MKT_BIND_HOST)
    inbound_port: int  # the service's public gRPC port
    app_port: int
    admin_port: int
    outbound: Mapping[str, int] = field(default_factory=dict)
    config: Path = Path()
    log_level: str = "warn"

    @property
    def child_name(self) -> str:
        return f"{self.name}-sidecar"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def service_env(self) -> dict[str, str]:
        """What the service is told: its loopback port, and its callees' outbound listeners."""
        env = {BY_NAME[self.name].env_prefix + "GRPC_PORT": str(self.app_port), "MKT_BIND_HOST": "127.0.0.1"}
        for callee, port in self.outbound.items():
            env[BY_NAME[callee].env_prefix + "TARGET"] = f"127.0.0.1:{port}"
        return env

    def ports(self) -> dict[str, int]:
        return {"mTLS inbound": self.inbound_port, "admin": self.admin_port,
                **{f"outbound to {callee}": port for callee, port in self.outbound.items()}}

    def argv(self) -> list[str]:
        return [envoy.envoy_binary(), "-c", str(self.config), "--disable-hot-restart", "--concurrency", "1",
                "--log-level", self.log_level]


class LocalMesh:
    def __init__(self, state: Path, env: Mapping[str, str], policy: Policy | None = None):
        self.policy = policy or load()
        self.folder = state / "mesh"
        self.certs = ca.Certificates(self.folder / "certs")
        read = EnvReader(env)
        self.port_base = read.port(PORT_BASE_VARIABLE, DEFAULT_PORT_BASE)
        if self.port_base + BLOCK * (len(SERVICES) + 1) > 65535:
            raise ConfigError(f"{PORT_BASE_VARIABLE}={self.port_base} leaves no room for the mesh's ports "
                              f"(it needs {BLOCK * (len(SERVICES) + 1)} above it)")
        host = env.get("MKT_BIND_HOST", "127.0.0.1")
        self.otlp_endpoint = OTLP_ENDPOINT.read(env)  # the sidecars trace into it too (edge/tracing.py)
        self.issued_at: float | None = None
        self.sidecars: dict[str, Sidecar] = {}
        for spec in SERVICES:
            callees = tuple(c.name for c in self.policy.callees(spec.name))
            admin, app, outbound = port_plan(self.port_base, spec.name, callees)
            self.sidecars[spec.name] = Sidecar(
                spec.name, host, read.port(spec.env_prefix + "GRPC_PORT", spec.grpc_port), app, admin, outbound,
                self.folder / f"{spec.name}-sidecar.json")

    def identities(self) -> dict[str, tuple[str, list[str]]]:
        return {name: (envoy.spiffe_id(self.policy, name), envoy.dns_names(self.policy, name))
                for name in [*self.sidecars, EDGE_IDENTITY]}

    def sidecar_config(self, name: str) -> dict:
        sidecar = self.sidecars[name]
        return envoy.sidecar(self.policy, name, certs=self.certs, inbound_port=sidecar.inbound_port,
                             app_port=sidecar.app_port, admin_port=sidecar.admin_port, outbound=sidecar.outbound,
                             callee_ports={n: s.inbound_port for n, s in self.sidecars.items()},
                             host=sidecar.host, otlp_endpoint=self.otlp_endpoint)

    def edge_config(self, edge_settings) -> dict:
        from edge import envoy_config

        return envoy.secure_edge(envoy_config.render(edge_settings), self.policy, self.certs)

    def prepare(self, edge_settings=None, edge_file: Path | None = None) -> None:
        """A new CA and certificates, and every sidecar's config (and the edge's, when given)."""
        ca.issue(self.certs.folder, self.identities())
        envoy.write_secrets(self.certs, self.identities())
        self.issued_at = time.time()
        for name, sidecar in self.sidecars.items():
            envoy.write(sidecar.config, self.sidecar_config(name))
        if edge_settings is not None and edge_file is not None:
            envoy.write(edge_file, self.edge_config(edge_settings))

    def renew(self) -> None:
        """New certificates (and keys) from the same CA; the sidecars and the edge pick them up
        through their SDS files, the /healthz aggregator when it sees the edge's change."""
        ca.issue_into(self.certs, self.identities())
        envoy.write_secrets(self.certs, self.identities())
        self.issued_at = time.time()

    def renew_if_due(self, now: float | None = None) -> str | None:
        """Renews the certificates once they are RENEW_AFTER_SECONDS old; a line saying so (or why
        it failed: then it is tried again ten minutes later), or None when it was not due."""
        now = now or time.time()
        if self.issued_at is None or now - self.issued_at < RENEW_AFTER_SECONDS:
            return None
        try:
            self.renew()
        except ca.CertificateError as error:
            self.issued_at += 600
            return f"!! could not renew the local mesh's certificates (trying again in 10 minutes): {error}"
        return f"-> renewed the local mesh's certificates in {self.certs.folder}"

    def healthz_env(self) -> dict[str, str]:
        return {CERTS_VARIABLE: str(self.certs.folder)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mesh.local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, help="the state folder (default: MKT_STATE_DIR or .state)")
    args = parser.parse_args(argv)
    from edge.settings import load_edge_settings

    env = dict(os.environ)
    folder = (args.state or state_dir(env)).resolve()
    try:
        from edge import dev_tokens

        edge_settings = load_edge_settings({**env, "MKT_STATE_DIR": str(folder)})
        if not edge_settings.jwks_url and edge_settings.jwks_file == folder / dev_tokens.AUTH_DIR / dev_tokens.JWKS_NAME:
            dev_tokens.ensure_dev_keys(folder)  # the development key and the JWKS the edge reads
        mesh = LocalMesh(folder, env)
        mesh.prepare(edge_settings, folder / "edge" / "envoy.json")
    except (ConfigError, ca.CertificateError) as error:
        print(f"mesh.local: {error}", file=sys.stderr)
        return 1
    for name, sidecar in mesh.sidecars.items():
        (mesh.folder / f"{name}.env").write_text("".join(f"{k}={v}\n" for k, v in sidecar.service_env().items()))
    (mesh.folder / "healthz.env").write_text("".join(f"{k}={v}\n" for k, v in mesh.healthz_env().items()))
    print(f"local mesh: CA and certificates in {mesh.certs.folder}; sidecar configs in {mesh.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
