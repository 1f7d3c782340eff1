"""`mkt keys create|list|revoke`: API keys of a workspace, through the integrations
service's gRPC API (MKT_INTEGRATIONS_TARGET, by default its port on this machine).
The command calls the service from inside (no edge), as an operator would."""

from __future__ import annotations

import argparse
import sys

import grpc

from marketing.integrations.v1 import api_key_pb2, integrations_service_pb2 as pb, integrations_service_pb2_grpc
from svc_kit.authz import ROLES
from svc_kit.clients import service_target
from svc_kit.config import ConfigError

_ROLE_VALUES = {"viewer": api_key_pb2.ApiKey.ROLE_VIEWER, "editor": api_key_pb2.ApiKey.ROLE_EDITOR,
                "admin": api_key_pb2.ApiKey.ROLE_ADMIN}
_ROLE_NAMES = {value: name for name, value in _ROLE_VALUES.items()}


def _stub(env):
    return integrations_service_pb2_grpc.IntegrationsServiceStub(grpc.insecure_channel(service_target(env, "integrations")))


def _run(call) -> int:
    import os

    try:
        return call(_stub(os.environ)) or 0
    except ConfigError as error:
        print(f"mkt keys: {error}", file=sys.stderr)
        return 2
    except grpc.RpcError as error:
        print(f"mkt keys: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1


def _time(stamp) -> str:
    return stamp.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ") if stamp.seconds else "-"


def create(args) -> int:
    def call(stub) -> None:
        key = stub.CreateApiKey(pb.CreateApiKeyRequest(
            parent=f"workspaces/{args.workspace}",
            api_key=api_key_pb2.ApiKey(role=_ROLE_VALUES[args.role], display_name=args.name)), timeout=10)
        print(f"created {key.name} ({args.role}); the key is shown only now", file=sys.stderr)
        print(key.key)

    return _run(call)


def list_keys(args) -> int:
    def call(stub) -> None:
        token = ""
        print(f"{'NAME':<42} {'PREFIX':<16} {'ROLE':<7} {'CREATED':<20} {'LAST USED':<20} REVOKED")
        while True:
            page = stub.ListApiKeys(pb.ListApiKeysRequest(parent=f"workspaces/{args.workspace}", page_token=token),
                                    timeout=10)
            for key in page.api_keys:
                print(f"{key.name:<42} {key.key_prefix:<16} {_ROLE_NAMES.get(key.role, '?'):<7} "
                      f"{_time(key.create_time):<20} {_time(key.last_used_time):<20} {_time(key.revoke_time)}")
            token = page.next_page_token
            if not token:
                return

    return _run(call)


def revoke(args) -> int:
    name = args.key if args.key.startswith("workspaces/") else f"workspaces/{args.workspace}/apiKeys/{args.key}"

    def call(stub) -> None:
        key = stub.RevokeApiKey(pb.RevokeApiKeyRequest(name=name), timeout=10)
        print(f"revoked {key.name} at {_time(key.revoke_time)}")

    if not args.key.startswith("workspaces/") and not args.workspace:
        print("mkt keys revoke: give the key's full name, or --workspace with its id", file=sys.stderr)
        return 2
    return _run(call)


def register(subparsers) -> None:
    group = subparsers.add_parser(
        "keys", help="API keys of a workspace (create, list, revoke)",
        description="API keys authenticate REST and gRPC calls through the edge "
                    "(`Authorization: Bearer mk_...`), for one workspace with one role.")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    making = commands.add_parser("create", help="create a key; prints only the key on stdout",
                                 description="Creates a key and prints it on stdout (the only time it is shown; "
                                             "its name goes to stderr), so `KEY=$(mkt keys create ...)` works.")
    making.add_argument("--workspace", required=True, help="workspace id, e.g. demo")
    making.add_argument("--role", required=True, choices=ROLES, help="what the key may do")
    making.add_argument("--name", default="", help="a display name, e.g. 'CRM sync'")
    making.set_defaults(run=create)
    listing = commands.add_parser("list", help="list a workspace's keys (never the secrets)")
    listing.add_argument("--workspace", required=True, help="workspace id")
    listing.set_defaults(run=list_keys)
    revoking = commands.add_parser("revoke", help="revoke a key: it answers 401 from now on")
    revoking.add_argument("key", help="the key's name workspaces/W/apiKeys/ID, or its ID with --workspace")
    revoking.add_argument("--workspace", default="", help="workspace id, with a bare key ID")
    revoking.set_defaults(run=revoke)
