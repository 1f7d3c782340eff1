"""`make demo-journey`: the abandoned-cart journey on a running platform (`make run` in another terminal),
through the REST edge only, with its waits scaled down to seconds.

Creates three shoppers (email and SMS consent), an email and an SMS template, and the journey
product_added_to_cart -> wait for purchase (`--wait` s) -> email -> wait again -> SMS -> exit, goal purchase;
publishes it; ingests a cart for each shopper through the analytics API; ada buys at once, grace buys after
her email; then shows what notify holds per shopper, the journey's figures per step, and the explanation of
each shopper (path, where they are, why nothing more was sent).

    python -m devstack.tools.demo_journey [--edge http://127.0.0.1:8080] [--workspace NAME] [--wait 4]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from datetime import UTC, datetime

from devstack.tools.demo import Edge, _dev_token, step, wait_for
from svc_kit.config import EnvReader

SHOPPERS = ("ada", "grace", "alan")


def event(ws: str, who: str, kind: str) -> dict:
    return {"eventId": f"{kind}-{who}-{time.time_ns()}", "type": kind, "profile": f"workspaces/{ws}/profiles/{who}",
            "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


def messages(edge: Edge, ws: str) -> collections.Counter:
    found = edge.call("GET", f"/v1/workspaces/{ws}/messages?pageSize=1000").get("messages", [])
    return collections.Counter((m["recipient"].rsplit("/", 1)[-1], m["channel"].removeprefix("CHANNEL_"))
                               for m in found)


def explanation(edge: Edge, ws: str, who: str) -> list[dict]:
    return edge.call("GET", f"/v1/workspaces/{ws}/profiles/{who}:explainJourneys").get("entries", [])


def main(argv: list[str] | None = None) -> int:
    env = os.environ
    parser = argparse.ArgumentParser(prog="make demo-journey", description=__doc__.split("\n\n")[0])
    parser.add_argument("--edge", default=f"http://127.0.0.1:{EnvReader(env).port('MKT_EDGE_PORT', 8080)}")
    parser.add_argument("--workspace", default=f"journey-{time.strftime('%H%M%S')}")
    parser.add_argument("--wait", type=int, default=4, help="seconds of each wait step (a day in real life)")
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--token", default=env.get("TOKEN", ""),
                        help="a JWT or mk_ key for the workspace (default: $TOKEN, else `make run`'s dev key)")
    args = parser.parse_args(argv)
    ws = args.workspace
    edge = Edge(args.edge, args.token or _dev_token(env, ws))

    step(f"shoppers and templates in workspaces/{ws}")
    for who in SHOPPERS:
        edge.call("POST", f"/v1/workspaces/{ws}/profiles/{who}:upsert", {"profile": {
            "email": f"{who}@example.com", "phone": "+15555550100",
            "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"},
                         {"channel": "CHANNEL_SMS", "status": "STATUS_GRANTED"}]}})
    email = edge.call("POST", f"/v1/workspaces/{ws}/templates?templateId=cart-email", {
        "displayName": "Your cart", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "You left something behind", "html": "<p>Come back</p>",
                              "text": "Come back"}}})["name"]
    sms = edge.call("POST", f"/v1/workspaces/{ws}/templates?templateId=cart-sms", {
        "displayName": "Your cart (SMS)", "channel": "CHANNEL_SMS",
        "content": {"sms": {"body": "Your cart is waiting"}}})["name"]
    for template in (email, sms):
        edge.call("POST", f"/v1/{template}:publish", {})
    print(f"  {', '.join(SHOPPERS)}; {email}, {sms}")

    step("the abandoned-cart journey")
    wait = f"{args.wait}s"
    journey = edge.call("POST", f"/v1/workspaces/{ws}/journeys?journeyId=abandoned-cart", {
        "displayName": "Abandoned cart", "definition": {
            "trigger": {"event": {"event": "product_added_to_cart"}}, "entryStep": "wait-purchase",
            "goalEvent": "purchase", "reentry": {"mode": "MODE_ONCE"},
            "steps": [
                {"id": "wait-purchase", "wait": {"duration": wait, "event": "purchase", "onEvent": "done",
                                                 "onTimeout": "email"}},
                {"id": "email", "send": {"channel": "CHANNEL_EMAIL", "template": email}, "next": "wait-again"},
                {"id": "wait-again", "wait": {"duration": wait, "event": "purchase", "onEvent": "done",
                                              "onTimeout": "sms"}},
                {"id": "sms", "send": {"channel": "CHANNEL_SMS", "template": sms}, "next": "done"},
                {"id": "done", "exit": {}}]}})
    name = journey["name"]
    published = edge.call("POST", f"/v1/{name}:publish", {})
    print(f"  {name}: :publish -> {published['state']}, version {published['publishedVersion']}")

    step("carts, through the analytics API; ada buys at once")
    edge.call("POST", f"/v1/workspaces/{ws}/events:ingest",
              {"events": [event(ws, who, "product_added_to_cart") for who in SHOPPERS]})
    wait_for("every shopper inside", lambda: all(explanation(edge, ws, who) for who in SHOPPERS), args.timeout)
    edge.call("POST", f"/v1/workspaces/{ws}/events:ingest", {"events": [event(ws, "ada", "purchase")]})

    step(f"after {args.wait} s without a purchase: an email to grace and alan; then grace buys")
    wait_for("two emails", lambda: sum(n for (_, c), n in messages(edge, ws).items() if c == "EMAIL") == 2,
             args.timeout)
    edge.call("POST", f"/v1/workspaces/{ws}/events:ingest", {"events": [event(ws, "grace", "purchase")]})

    step(f"after {args.wait} s more: an SMS to alan only")
    wait_for("alan's SMS", lambda: messages(edge, ws)[("alan", "SMS")] == 1, args.timeout)
    stats = wait_for("the figures", lambda: (s := edge.call("GET", f"/v1/{name}/stats")).get("exited") == "1" and s,
                     args.timeout)
    sent = messages(edge, ws)
    for who in SHOPPERS:
        print(f"  {who:6} email {sent[(who, 'EMAIL')]}  sms {sent[(who, 'SMS')]}")

    step("the journey's figures")
    print(f"  entered {stats.get('entered', '0')}, goal reached {stats.get('goalReached', '0')}, "
          f"exited {stats.get('exited', '0')}")
    for s in stats.get("steps", []):
        branches = ", ".join(f"{k} {v}" for k, v in sorted(s.get("leftByBranch", {}).items()))
        print(f"  {s['step']:14} entered {s.get('entered', '0'):>2}  waiting {s.get('waiting', '0'):>2}  "
              f"sent {s.get('sent', '0'):>2}  {branches}")

    step("why each shopper got what they got")
    for who in SHOPPERS:
        for entry in explanation(edge, ws, who):
            path = " -> ".join(f"{t['kind']}:{t.get('step', '')}" + (f"({t['detail']})" if t.get("detail") and
                                                                      t["kind"] in ("step", "goal") else "")
                               for t in entry.get("path", []))
            print(f"  {who:6} {entry.get('state', 'REFUSED')}: {path}")
    print("\ndemo-journey: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
