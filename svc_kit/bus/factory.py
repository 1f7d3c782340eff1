"""The bus a process uses, from configuration:

    MKT_BUS=embedded (default)   a SQLite log at MKT_BUS_PATH (default <state dir>/bus.sqlite3),
                                 shared by every process of the machine
    MKT_BUS=pulsar               MKT_PULSAR_URL (pulsar://host:6650) and MKT_PULSAR_ADMIN_URL
                                 (http://host:8080, for the schema registry's compatibility policy)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from svc_kit.bus.port import Bus
from svc_kit.config import ConfigError, state_dir

COMPATIBILITY = "FULL"  # adding or removing optional fields (with defaults) only


def make_bus(env: Mapping[str, str]) -> Bus:
    kind = env.get("MKT_BUS", "embedded")
    if kind == "embedded":
        from svc_kit.bus.embedded import EmbeddedBus

        path = Path(env.get("MKT_BUS_PATH") or state_dir(env) / "bus.sqlite3")
        return EmbeddedBus(path, compatibility=COMPATIBILITY)
    if kind == "pulsar":
        url, admin = env.get("MKT_PULSAR_URL", ""), env.get("MKT_PULSAR_ADMIN_URL", "")
        if not url.startswith("pulsar://"):
            raise ConfigError(f"MKT_PULSAR_URL={url!r} must be a pulsar://host:port URL when MKT_BUS=pulsar")
        if not admin.startswith(("http://", "https://")):
            raise ConfigError(f"MKT_PULSAR_ADMIN_URL={admin!r} must be an http(s)://host:port URL when MKT_BUS=pulsar")
        from svc_kit.bus.pulsar import PulsarBus

        return PulsarBus(url, admin, compatibility=COMPATIBILITY)
    raise ConfigError(f"MKT_BUS={kind!r} must be embedded or pulsar")
