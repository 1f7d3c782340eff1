"""`mkt keys create|list|revoke`: API keys of a workspace, through the edge's gRPC
(MKT_EDGE_PORT on this machine, or --edge host:port) with an admin credential: --token,
else $TOKEN, else (development) an admin JWT for the workspace signed by the key `make run`
made under the state folder."""

from __future__ import annotations

import argparse
import sys

import grpc

from marketing.integrations.v1 import api_key_pb2, integrations_service_pb2 as pb, integrations_service_pb2_grpc
from marketing.integrations.v1 import source_pb2
from svc_kit.authz import ROLES
from svc_kit.config import ConfigError, EnvReader, state_dir

from svc_integrations.entrypoints import connections_cli

_ROLE_VALUES = {"viewer": api_key_pb2.ApiKey.ROLE_VIEWER, "editor": api_key_pb2.ApiKey.ROLE_EDITOR,
                "admin": api_key_pb2.ApiKey.ROLE_ADMIN}
_ROLE_NAMES = {value: name for name, value in _ROLE_VALUES.items()}


class _NoCredential(Exception):
    pass


def _credential(args, env) -> str:
    if args.token or env.get("TOKEN"):
        return args.token or env["TOKEN"]
    from edge import dev_tokens
    from edge.settings import load_edge_settings

    folder = state_dir(env)
    if not (folder / dev_tokens.AUTH_DIR / dev_tokens.KEYS["ES256"][0]).is_file():
        raise _NoCredential("give an admin credential with --token or $TOKEN (no development key in "
                            f"{folder / dev_tokens.AUTH_DIR})")
    settings = load_edge_settings(env)
    return dev_tokens.mint(folder, {args.workspace: "admin"}, subject="mkt-keys", ttl=300,
                           issuer=settings.jwt_issuer, audience=settings.jwt_audience)


def _run(args, call, command: str = "keys") -> int:
    import os

    env = os.environ
    try:
        edge = args.edge or f"127.0.0.1:{EnvReader(env).port('MKT_EDGE_PORT', 8080)}"
        metadata = (("authorization", f"Bearer {_credential(args, env)}"),)
        with grpc.insecure_channel(edge) as channel:
            return call(integrations_service_pb2_grpc.IntegrationsServiceStub(channel), metadata) or 0
    except (ConfigError, _NoCredential) as error:
        print(f"mkt {command}: {error}", file=sys.stderr)
        return 2
    except grpc.RpcError as error:
        print(f"mkt {command}: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1


def _time(stamp) -> str:
    return stamp.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ") if stamp.seconds else "-"


def create(args) -> int:
    def call(stub, metadata) -> None:
        key = stub.CreateApiKey(pb.CreateApiKeyRequest(
            parent=f"workspaces/{args.workspace}",
            api_key=api_key_pb2.ApiKey(role=_ROLE_VALUES[args.role], display_name=args.name)), timeout=10,
            metadata=metadata)
        print(f"created {key.name} ({args.role}); the key is shown only now", file=sys.stderr)
        print(key.key)

    return _run(args, call)


def list_keys(args) -> int:
    def call(stub, metadata) -> None:
        token = ""
        print(f"{'NAME':<42} {'PREFIX':<16} {'ROLE':<7} {'CREATED':<20} {'LAST USED':<20} REVOKED")
        while True:
            page = stub.ListApiKeys(pb.ListApiKeysRequest(parent=f"workspaces/{args.workspace}", page_token=token),
                                    timeout=10, metadata=metadata)
            for key in page.api_keys:
                print(f"{key.name:<42} {key.key_prefix:<16} {_ROLE_NAMES.get(key.role, '?'):<7} "
                      f"{_time(key.create_time):<20} {_time(key.last_used_time):<20} {_time(key.revoke_time)}")
            token = page.next_page_token
            if not token:
                return

    return _run(args, call)


def revoke(args) -> int:
    if args.key.startswith("workspaces/"):
        name = args.key
        args.workspace = args.key.split("/")[1]
    elif args.workspace:
        name = f"workspaces/{args.workspace}/apiKeys/{args.key}"
    else:
        print("mkt keys revoke: give the key's full name, or --workspace with its id", file=sys.stderr)
        return 2

    def call(stub, metadata) -> None:
        key = stub.RevokeApiKey(pb.RevokeApiKeyRequest(name=name), timeout=10, metadata=metadata)
        print(f"revoked {key.name} at {_time(key.revoke_time)}")

    return _run(args, call)


# --- `mkt sources`: sources of collected events (Segment-compatible) ---

def create_source(args) -> int:
    def call(stub, metadata) -> None:
        source = stub.CreateSource(pb.CreateSourceRequest(
            parent=f"workspaces/{args.workspace}", source=source_pb2.Source(display_name=args.name)), timeout=10,
            metadata=metadata)
        print(f"created {source.name}; its write key is shown only now", file=sys.stderr)
        print(source.write_key)

    return _run(args, call, "sources")


def list_sources(args) -> int:
    def call(stub, metadata) -> None:
        token = ""
        print(f"{'NAME':<42} {'WRITE KEY PREFIX':<16} {'CREATED':<20} {'LAST USED':<20} {'REVOKED':<20} DISPLAY NAME")
        while True:
            page = stub.ListSources(pb.ListSourcesRequest(parent=f"workspaces/{args.workspace}", page_token=token),
                                    timeout=10, metadata=metadata)
            for source in page.sources:
                print(f"{source.name:<42} {source.write_key_prefix:<16} {_time(source.create_time):<20} "
                      f"{_time(source.last_used_time):<20} {_time(source.revoke_time):<20} {source.display_name}")
            token = page.next_page_token
            if not token:
                return

    return _run(args, call, "sources")


def revoke_source(args) -> int:
    if args.source.startswith("workspaces/"):
        name = args.source
        args.workspace = args.source.split("/")[1]
    elif args.workspace:
        name = f"workspaces/{args.workspace}/sources/{args.source}"
    else:
        print("mkt sources revoke: give the source's full name, or --workspace with its id", file=sys.stderr)
        return 2

    def call(stub, metadata) -> None:
        source = stub.RevokeSource(pb.RevokeSourceRequest(name=name), timeout=10, metadata=metadata)
        print(f"revoked {source.name} at {_time(source.revoke_time)}")

    return _run(args, call, "sources")


def _register_sources(subparsers, common) -> None:
    group = subparsers.add_parser(
        "sources", help="sources of collected events: Segment write keys (create, list, revoke)",
        description="A source sends Segment Tracking API calls (POST /v1/track, /v1/identify, ... /v1/batch) "
                    "through the edge into one workspace, authenticated by its write key (the HTTP Basic user "
                    "name, as the Segment SDKs send it).")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    making = commands.add_parser("create", parents=[common], help="create a source; prints only its write key",
                                 description="Creates a source and prints its write key on stdout (the only time "
                                             "it is shown; its name goes to stderr), so "
                                             "`WRITE_KEY=$(mkt sources create --workspace demo)` works.")
    making.add_argument("--workspace", required=True, help="workspace id, e.g. demo")
    making.add_argument("--name", default="", help="a display name, e.g. 'website'")
    making.set_defaults(run=create_source)
    listing = commands.add_parser("list", parents=[common], help="list a workspace's sources (never the keys)")
    listing.add_argument("--workspace", required=True, help="workspace id")
    listing.set_defaults(run=list_sources)
    revoking = commands.add_parser("revoke", parents=[common], help="revoke a source's write key: 401 from now on")
    revoking.add_argument("source", help="the source's name workspaces/W/sources/ID, or its ID with --workspace")
    revoking.add_argument("--workspace", default="", help="workspace id, with a bare source ID")
    revoking.set_defaults(run=revoke_source)


def _migrations():
    from svc_integrations import migrate

    return migrate.MIGRATIONS


def register(subparsers) -> None:
    from svc_kit.cli import add_migrate_command, service_commands

    service = service_commands(subparsers, "integrations", "the integrations service's tools",
                               "Tools of the integrations service (API keys: `mkt keys`).")
    add_migrate_command(service, "integrations", _migrations)
    group = subparsers.add_parser(
        "keys", help="API keys of a workspace (create, list, revoke)",
        description="API keys authenticate REST and gRPC calls through the edge "
                    "(`Authorization: Bearer mk_...`), for one workspace with one role.")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--edge", default="", help="host:port of the edge (default 127.0.0.1:$MKT_EDGE_PORT, 8080)")
    common.add_argument("--token", default="", help="an admin JWT or mk_ key for the workspace (default $TOKEN, "
                                                    "else a development token from `make run`'s key)")
    making = commands.add_parser("create", parents=[common], help="create a key; prints only the key on stdout",
                                 description="Creates a key and prints it on stdout (the only time it is shown; "
                                             "its name goes to stderr), so `KEY=$(mkt keys create ...)` works.")
    making.add_argument("--workspace", required=True, help="workspace id, e.g. demo")
    making.add_argument("--role", required=True, choices=ROLES, help="what the key may do")
    making.add_argument("--name", default="", help="a display name, e.g. 'CRM sync'")
    making.set_defaults(run=create)
    listing = commands.add_parser("list", parents=[common], help="list a workspace's keys (never the secrets)")
    listing.add_argument("--workspace", required=True, help="workspace id")
    listing.set_defaults(run=list_keys)
    revoking = commands.add_parser("revoke", parents=[common], help="revoke a key: it answers 401 from now on")
    revoking.add_argument("key", help="the key's name workspaces/W/apiKeys/ID, or its ID with --workspace")
    revoking.add_argument("--workspace", default="", help="workspace id, with a bare key ID")
    revoking.set_defaults(run=revoke)
    _register_sources(subparsers, common)
    from svc_integrations.entrypoints import webhooks_cli  # `mkt webhooks` (issue 16, part B)

    webhooks_cli.register(subparsers)
    connections_cli.register(subparsers)  # `mkt connections` (issue 16 part C)
