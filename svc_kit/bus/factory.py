"""The bus a process uses, from configuration:

    MKT_BUS=embedded (default)   a SQLite log at MKT_BUS_PATH (default <state dir>/bus.sqlite3),
                                 shared by every process of the machine
    MKT_BUS=pulsar               MKT_PULSAR_URL (pulsar://host:6650) and MKT_PULSAR_ADMIN_URL
                                 (http://host:8080, for the schema registry's compatibility policy);
                                 topics in MKT_PULSAR_NAMESPACE (default public/default)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from svc_kit.bus.port import Bus
from svc_kit.config import ConfigError, state_dir
from svc_kit.settings_spec import Variable

COMPATIBILITY = "FULL"  # adding or removing optional fields (with defaults) only

# An empty MKT_BUS is an error, as it always was, not the embedded bus.
BUS = Variable("MKT_BUS", "text", "embedded", "the event bus: embedded (a SQLite log) or pulsar",
               blank_is_unset=False)
BUS_PATH = Variable("MKT_BUS_PATH", "path", None, "file of the embedded bus, shared by every process of the machine",
                    shown_default="<state dir>/bus.sqlite3")
PULSAR_URL = Variable("MKT_PULSAR_URL", "text", "", "Pulsar broker, pulsar://host:6650 (needed when MKT_BUS=pulsar)")
PULSAR_ADMIN_URL = Variable("MKT_PULSAR_ADMIN_URL", "text", "",
                            "Pulsar admin API, http://host:8080, for the schema compatibility policy "
                            "(needed when MKT_BUS=pulsar)")
PULSAR_NAMESPACE = Variable("MKT_PULSAR_NAMESPACE", "text", "public/default",
                            "Pulsar namespace (tenant/name) of every topic; created when missing (the tenant must "
                            "exist). One per platform sharing a broker (the tests give each platform its own)")
VARIABLES = (BUS, BUS_PATH, PULSAR_URL, PULSAR_ADMIN_URL, PULSAR_NAMESPACE)


def make_bus(env: Mapping[str, str]) -> Bus:
    kind = BUS.read(env)
    if kind == "embedded":
        from svc_kit.bus.embedded import EmbeddedBus

        path = Path(BUS_PATH.read(env) or state_dir(env) / "bus.sqlite3")
        return EmbeddedBus(path, compatibility=COMPATIBILITY)
    if kind == "pulsar":
        url, admin = PULSAR_URL.read(env), PULSAR_ADMIN_URL.read(env)
        if not url.startswith("pulsar://"):
            raise ConfigError(f"MKT_PULSAR_URL={url!r} must be a pulsar://host:port URL when MKT_BUS=pulsar")
        if not admin.startswith(("http://", "https://")):
            raise ConfigError(f"MKT_PULSAR_ADMIN_URL={admin!r} must be an http(s)://host:port URL when MKT_BUS=pulsar")
        from svc_kit.bus.pulsar import PulsarBus

        namespace = PULSAR_NAMESPACE.read(env)
        if namespace.count("/") != 1 or not all(namespace.split("/")):
            raise ConfigError(f"MKT_PULSAR_NAMESPACE={namespace!r} must be tenant/name")
        return PulsarBus(url, admin, compatibility=COMPATIBILITY, namespace=namespace)
    raise ConfigError(f"MKT_BUS={kind!r} must be embedded or pulsar")
