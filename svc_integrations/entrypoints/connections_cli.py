"""`mkt connections rotate-keys`: re-encrypts every connection's credentials with the current
credential key (the first of MKT_INTEGRATIONS_CREDENTIAL_KEYS), straight in the integrations
database (MKT_INTEGRATIONS_DATABASE_URL, else the state folder's SQLite file). Rotation: put a
new key first in the variable (keep the old one after it) and restart the service, run this,
then drop the old key. Without the variable, the development key `make run` made in the state
folder is used."""

from __future__ import annotations

import sys

from svc_kit.app import run_tool
from svc_kit.config import Settings

DEV_KEY_FILE = "integrations-credential.key"  # devstack/servers/platform.py CREDENTIAL_KEY_FILE


def _keys(settings: Settings) -> list[str]:
    from svc_integrations import config
    from svc_integrations.adapters.credential_cipher import parse_keys

    keys = parse_keys(config.CREDENTIAL_KEYS.read(settings.env))
    if not keys:
        path = settings.state_dir / DEV_KEY_FILE
        if path.is_file():
            keys = parse_keys(path.read_text())
    return keys


def rotate_keys(settings: Settings) -> int:
    from svc_kit.cli import migrated_engine
    from svc_kit.clock import utcnow
    from svc_kit.errors import FailedPrecondition
    from svc_kit.ids import new_id

    from svc_integrations import migrate
    from svc_integrations.adapters.connection_store import SqlConnectionStore
    from svc_integrations.adapters.connectors import default_registry
    from svc_integrations.adapters.credential_cipher import CredentialKeyError, FernetCipher
    from svc_integrations.service_layer.connections import Connections

    keys = _keys(settings)
    if not keys:
        print("mkt connections rotate-keys: set MKT_INTEGRATIONS_CREDENTIAL_KEYS (the new key first, then the old "
              "ones)", file=sys.stderr)
        return 2
    try:
        cipher = FernetCipher(keys)
    except CredentialKeyError as error:
        print(f"mkt connections rotate-keys: {error}", file=sys.stderr)
        return 2
    engine = migrated_engine(settings, migrate.MIGRATIONS)
    try:
        connections = Connections(SqlConnectionStore(engine), default_registry(), cipher, utcnow, new_id)
        try:
            rotated, current = connections.rotate_keys()
        except FailedPrecondition as error:
            print(f"mkt connections rotate-keys: {error.message}", file=sys.stderr)
            return 1
    finally:
        engine.dispose()
    print(f"re-encrypted {rotated} connection credential(s) with the current key; {current} already used it")
    return 0


def register(subparsers) -> None:
    group = subparsers.add_parser(
        "connections", help="connections to outside platforms (credential key rotation)",
        description="Connections are managed through the API (docs/services/integrations.md); this command "
                    "group holds the operator's tools.")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    rotating = commands.add_parser(
        "rotate-keys", help="re-encrypt every connection's credentials with the current key",
        description=__doc__)
    rotating.set_defaults(run=lambda args: run_tool("integrations", rotate_keys))
