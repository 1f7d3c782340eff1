"""Events leave the running campaign service: through its outbox and relay onto
the embedded bus that `make run` uses, with the caller's trace context."""

from __future__ import annotations

import time
import uuid

import pytest

import event_schemas
from svc_kit.bus.factory import make_bus
from svc_kit.bus.port import SubscriptionOptions

from svc_campaign.adapters.event_codec import TOPIC

pytestmark = pytest.mark.e2e
TRACE_ID = uuid.uuid4().hex


def test_changes_are_published_in_order_with_the_callers_trace(running):
    headers = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    created = running.rest.call("POST", "/v1/workspaces/acme/campaigns", {"displayName": "Published"},
                                headers=headers)
    assert created.status == 200, created.body
    name = created.body["name"]
    assert running.rest.call("POST", f"/v1/{name}:cancel", {}).status == 200
    campaign_id = name.rsplit("/", 1)[1]

    bus = make_bus(running.platform.env)
    try:
        consumer = bus.consumer(TOPIC, f"e2e-{uuid.uuid4().hex[:8]}", event_schemas.load("campaign.v1"),
                                SubscriptionOptions(initial_position="earliest"))
        mine = []
        deadline = time.monotonic() + 30
        while len(mine) < 2:
            assert time.monotonic() < deadline, f"saw {[(m.value['event_type']) for m in mine]}"
            message = consumer.receive(0.5)
            if message is None:
                continue
            consumer.ack(message)
            if message.key == campaign_id:
                mine.append(message)
    finally:
        bus.close()
    assert [(m.value["event_type"], m.value["aggregate_version"]) for m in mine] == [
        ("campaign_created", 1), ("campaign_cancelled", 2)]
    assert mine[0].value["workspace"] == "acme"
    assert mine[0].value["producer"] == "svc_campaign"
    assert mine[0].properties["traceparent"].split("-")[1] == TRACE_ID
    assert mine[0].value["traceparent"].split("-")[1] == TRACE_ID
