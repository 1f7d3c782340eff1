"""The `mkt` console script: one subcommand group per service that has an
`entrypoints/cli.py`; each command there sets `run(args) -> exit code`."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from svc_kit.services import SERVICES

DESCRIPTION = """The marketing platform's command-line tool: `mkt SERVICE COMMAND ...`;
`mkt SERVICE --help` lists a service's commands, `mkt SERVICE COMMAND --help` explains one;
`mkt keys create|list|revoke` manages API keys, `mkt token dev` prints a development JWT,
`mkt slo status` prints every SLO's state from Prometheus.

Exit codes: 0 done, 1 failed (the service refused or could not be reached),
2 bad usage or configuration, 3 some input lines were rejected, 130 interrupted."""


def command_modules() -> list:
    """The services' `entrypoints.cli` modules, in the platform's service order."""
    modules = []
    for spec in SERVICES:
        name = f"{spec.package}.entrypoints.cli"
        if importlib.util.find_spec(f"{spec.package}.entrypoints") and importlib.util.find_spec(name):
            modules.append(importlib.import_module(name))
    return modules


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mkt", description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    services = root.add_subparsers(dest="service", required=True, metavar="SERVICE")
    for module in command_modules():
        module.register(services)
    _register_token(services)
    _register_slo(services)
    return root


def _register_slo(subparsers) -> None:
    from slo import status

    status.register(subparsers)


def _register_token(subparsers) -> None:
    group = subparsers.add_parser("token", help="development JWTs for the edge",
                                  description="JWTs signed by the local development key that `make run` makes "
                                              "under <state dir>/auth (the edge trusts its JWKS).")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dev = commands.add_parser("dev", help="print a development JWT for a workspace and role",
                              description="Prints a JWT on stdout: `export TOKEN=$(mkt token dev --workspace demo "
                                          "--role admin)`, then `curl -H \"Authorization: Bearer $TOKEN\" ...`.")
    dev.add_argument("--workspace", required=True, action="append",
                     help="workspace id (repeatable; '*' for every workspace)")
    dev.add_argument("--role", required=True, choices=("viewer", "editor", "admin"))
    dev.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid (default 3600)")
    dev.add_argument("--subject", default="dev", help="the principal's name (`sub`), default dev")
    dev.add_argument("--algorithm", choices=("ES256", "RS256"), default="ES256")
    dev.set_defaults(run=_token_dev)


def _token_dev(args) -> int:
    import os

    from edge import dev_tokens
    from edge.settings import load_edge_settings
    from svc_kit.config import ConfigError, state_dir

    try:
        settings = load_edge_settings(os.environ)
    except ConfigError as error:
        print(f"mkt token dev: {error}", file=sys.stderr)
        return 2
    if args.ttl <= 0:
        print("mkt token dev: --ttl must be a positive number of seconds", file=sys.stderr)
        return 2
    folder = state_dir(os.environ)
    if not (folder / dev_tokens.AUTH_DIR / dev_tokens.KEYS[args.algorithm][0]).is_file():
        print(f"mkt token dev: no development key in {folder / dev_tokens.AUTH_DIR} (run `make run` once)",
              file=sys.stderr)
        return 1
    print(dev_tokens.mint(folder, {w: args.role for w in args.workspace}, subject=args.subject, ttl=args.ttl,
                          algorithm=args.algorithm, issuer=settings.jwt_issuer, audience=settings.jwt_audience))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("mkt: interrupted", file=sys.stderr)
        return 130
    except OSError as error:  # a file that cannot be read or written, a full disk ...
        print(f"mkt: {error}", file=sys.stderr)
        return 1
