"""`mkt webhooks create|list|test|deliveries|replay`: a workspace's outbound webhooks through the
edge's gRPC, with an admin credential as `mkt keys` takes it (--token, $TOKEN, or the development
key of `make run`)."""

from __future__ import annotations

import argparse
import sys

from marketing.integrations.v1 import integrations_service_pb2 as pb, webhook_pb2

from svc_integrations.entrypoints import cli as keys_cli

_STATES = {v.number: v.name.removeprefix("STATE_") for v in webhook_pb2.Webhook.State.DESCRIPTOR.values}
_DELIVERY_STATES = {v.number: v.name.removeprefix("STATE_")
                    for v in webhook_pb2.WebhookDelivery.State.DESCRIPTOR.values}


def _name(args, value: str, collection_path: str) -> str | None:
    """A full resource name, or the id under --workspace."""
    if value.startswith("workspaces/"):
        args.workspace = value.split("/")[1]
        return value
    if args.workspace:
        return f"workspaces/{args.workspace}/{collection_path}{value}"
    print("mkt webhooks: give the full name workspaces/W/webhooks/..., or --workspace with the id", file=sys.stderr)
    return None


def _run(args, call) -> int:
    return keys_cli._run(args, call, "webhooks")


def create(args) -> int:
    events = [e.strip() for e in args.events.split(",") if e.strip()]

    def call(stub, metadata) -> None:
        hook = stub.CreateWebhook(pb.CreateWebhookRequest(
            parent=f"workspaces/{args.workspace}", webhook_id=args.id,
            webhook=webhook_pb2.Webhook(display_name=args.name or args.url, uri=args.url, event_types=events)),
            timeout=30, metadata=metadata)
        print(f"created {hook.name} for {', '.join(hook.event_types)}; the signing secret is shown only now",
              file=sys.stderr)
        print(hook.signing_secret)

    return _run(args, call)


def list_webhooks(args) -> int:
    def call(stub, metadata) -> None:
        token = ""
        print(f"{'NAME':<48} {'STATE':<8} {'FAILURES':>8}  EVENTS -> URL")
        while True:
            page = stub.ListWebhooks(pb.ListWebhooksRequest(parent=f"workspaces/{args.workspace}", page_token=token),
                                     timeout=10, metadata=metadata)
            for hook in page.webhooks:
                print(f"{hook.name:<48} {_STATES.get(hook.state, '?'):<8} {hook.consecutive_failures:>8}  "
                      f"{','.join(hook.event_types)} -> {hook.uri}"
                      + (f"  ({hook.state_message})" if hook.state_message else ""))
            token = page.next_page_token
            if not token:
                return

    return _run(args, call)


def _print_delivery(delivery) -> None:
    print(f"{delivery.name}  {_DELIVERY_STATES.get(delivery.state, '?')}  {delivery.event_type}  "
          f"attempts={delivery.attempt_count} code={delivery.response_code} {delivery.latency_ms}ms"
          + (f"  {delivery.error}" if delivery.error else ""))


def test(args) -> int:
    name = _name(args, args.webhook, "webhooks/")
    if name is None:
        return 2

    def call(stub, metadata) -> int:
        delivery = stub.TestWebhook(pb.TestWebhookRequest(name=name), timeout=60, metadata=metadata)
        _print_delivery(delivery)
        return 0 if delivery.state == webhook_pb2.WebhookDelivery.STATE_SUCCEEDED else 1

    return _run(args, call)


def deliveries(args) -> int:
    name = _name(args, args.webhook, "webhooks/")
    if name is None:
        return 2

    def call(stub, metadata) -> None:
        page = stub.ListWebhookDeliveries(pb.ListWebhookDeliveriesRequest(parent=name, page_size=args.limit),
                                          timeout=10, metadata=metadata)
        for delivery in page.webhook_deliveries:
            _print_delivery(delivery)

    return _run(args, call)


def replay(args) -> int:
    if not args.delivery.startswith("workspaces/"):
        print("mkt webhooks replay: give the delivery's full name workspaces/W/webhooks/H/deliveries/D",
              file=sys.stderr)
        return 2

    def call(stub, metadata) -> None:
        _print_delivery(stub.ReplayWebhookDelivery(pb.ReplayWebhookDeliveryRequest(name=args.delivery), timeout=10,
                                                   metadata=metadata))

    args.workspace = args.delivery.split("/")[1]
    return _run(args, call)


def register(subparsers) -> None:
    group = subparsers.add_parser(
        "webhooks", help="outbound webhooks of a workspace (create, list, test, deliveries, replay)",
        description="Webhooks POST platform events (campaign.scheduled, message.bounced, ...) to an endpoint, "
                    "signed as Standard Webhooks says; see docs/services/integrations.md, Webhooks.")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--edge", default="", help="host:port of the edge (default 127.0.0.1:$MKT_EDGE_PORT, 8080)")
    common.add_argument("--token", default="", help="an admin JWT or mk_ key for the workspace (default $TOKEN, "
                                                    "else a development token from `make run`'s key)")
    making = commands.add_parser("create", parents=[common], help="subscribe a URL; prints only the secret",
                                 description="Creates a webhook and prints its signing secret (whsec_...) on "
                                             "stdout, the only time it is shown.")
    making.add_argument("--workspace", required=True, help="workspace id, e.g. demo")
    making.add_argument("--url", required=True, help="https URL that receives the events")
    making.add_argument("--events", required=True, help="comma-separated event types, e.g. 'campaign.*,"
                                                        "message.bounced', or '*'")
    making.add_argument("--name", default="", help="a display name (default: the URL)")
    making.add_argument("--id", default="", help="the webhook's id (default: generated)")
    making.set_defaults(run=create)
    listing = commands.add_parser("list", parents=[common], help="list a workspace's webhooks")
    listing.add_argument("--workspace", required=True, help="workspace id")
    listing.set_defaults(run=list_webhooks)
    testing = commands.add_parser("test", parents=[common], help="send a webhook.ping now; exit 1 if it failed")
    testing.add_argument("webhook", help="workspaces/W/webhooks/ID, or the ID with --workspace")
    testing.add_argument("--workspace", default="", help="workspace id, with a bare webhook ID")
    testing.set_defaults(run=test)
    log = commands.add_parser("deliveries", parents=[common], help="a webhook's delivery log, newest first")
    log.add_argument("webhook", help="workspaces/W/webhooks/ID, or the ID with --workspace")
    log.add_argument("--workspace", default="", help="workspace id, with a bare webhook ID")
    log.add_argument("--limit", type=int, default=20, help="how many deliveries (default 20)")
    log.set_defaults(run=deliveries)
    replaying = commands.add_parser("replay", parents=[common], help="send a finished delivery again")
    replaying.add_argument("delivery", help="workspaces/W/webhooks/H/deliveries/D")
    replaying.set_defaults(run=replay)
