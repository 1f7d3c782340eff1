"""The notify service's commands under `mkt notify`: the schema migration, on the
database the service's settings name; and `sign-callback`, the signature a
provider callback must carry (for curl, or a provider relay)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from svc_kit.cli import add_migrate_command, service_commands

SIGN_HELP = """Prints the X-Notify-Signature value of a provider callback: t=<now>,v1=<hex
HMAC-SHA256(secret, "<t>.<provider>." + body)>. The body is read from --body-file
(or standard input), the secret from --secret-file (first line: the current secret),
by default the one `make run` keeps for default-smtp (<state dir>/callback-signing.key).

    mkt notify sign-callback --provider workspaces/acme/providers/default-smtp --body-file body.json
    curl localhost:8080/v1/workspaces/acme/providers/default-smtp:callback \\
         -H 'content-type: application/json' -H "x-notify-signature: $SIGNATURE" --data-binary @body.json

The notify service accepts it for MKT_NOTIFY_CALLBACK_TOLERANCE_SECONDS (5 minutes)."""


def _migrations():
    from svc_notify.migrate import MIGRATIONS

    return MIGRATIONS


def run_sign_callback(args) -> int:
    from svc_kit.config import state_dir
    from svc_kit.signing import callback_signature

    parts = args.provider.split("/")
    if len(parts) != 4 or parts[0] != "workspaces" or parts[2] != "providers" or not parts[1] or not parts[3]:
        print("mkt notify sign-callback: --provider is workspaces/{workspace}/providers/{provider}", file=sys.stderr)
        return 2
    path = args.secret_file or state_dir() / "callback-signing.key"
    if not path.is_file():
        print(f"mkt notify sign-callback: no secret file {path} (give --secret-file)", file=sys.stderr)
        return 2
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        print(f"mkt notify sign-callback: {path} is empty", file=sys.stderr)
        return 2
    body = args.body_file.read_bytes() if args.body_file else sys.stdin.buffer.read()
    print(callback_signature(lines[0], args.provider, body, time.time() if args.time is None else args.time))
    return 0


def register(subparsers) -> None:
    commands = service_commands(subparsers, "notify", "migrate the database; sign a provider callback", __doc__)
    add_migrate_command(commands, "notify", _migrations)
    sign = commands.add_parser("sign-callback", help="the X-Notify-Signature of a provider callback",
                               description=SIGN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sign.add_argument("--provider", required=True, help="workspaces/{workspace}/providers/{provider}")
    sign.add_argument("--body-file", type=Path, help="the exact body to post (default: standard input)")
    sign.add_argument("--secret-file", type=Path, help="the provider's callback secret (default: make run's "
                                                       "default-smtp secret)")
    sign.add_argument("--time", type=int, help="Unix seconds to sign at (default: now)")
    sign.set_defaults(run=run_sign_callback)
