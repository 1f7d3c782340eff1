"""Right to erasure: DELETE publishes `profile_erased`; an erasure whose delete
never happened (the process died after recording the event) is finished by the
service's own consumer of that event."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from pymongo import MongoClient

from svc_kit.bus.factory import make_bus

from svc_audience.adapters import events
from svc_audience.domain.model import Profile

pytestmark = pytest.mark.e2e


def upsert(rest, ws, external_id):
    response = rest.call("POST", f"/v1/workspaces/{ws}/profiles/{external_id}:upsert",
                         {"profile": {"email": f"{external_id}@example.com"}})
    assert response.status == 200, response.body


def test_delete_publishes_profile_erased(running):
    ws = f"era-{uuid.uuid4().hex[:8]}"
    upsert(running.rest, ws, "u-1")
    assert running.rest.call("DELETE", f"/v1/workspaces/{ws}/profiles/u-1").status == 200
    bus = make_bus(running.platform.env)
    try:
        consumer = bus.consumer(events.TOPIC, f"e2e-{uuid.uuid4().hex[:8]}", events.SCHEMA)
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, "no profile_erased event"
            message = consumer.receive(0.5)
            if message is None:
                continue
            consumer.ack(message)
            if message.value["workspace"] == ws:
                break
    finally:
        bus.close()
    assert message.value["event_type"] == "profile_erased"
    assert message.value["payload"]["profile"] == f"workspaces/{ws}/profiles/u-1"
    assert message.key == "u-1"


def test_an_erasure_interrupted_before_the_delete_is_finished(running):
    ws = f"era-{uuid.uuid4().hex[:8]}"
    upsert(running.rest, ws, "u-2")
    client = MongoClient(f"mongodb://127.0.0.1:{running.platform.mongo_port}/", tz_aware=True)
    try:  # what DeleteProfile writes first; as if the process died right after
        events.outbox(client["audience"]).write([events.erasure_entry(Profile(ws, "u-2", version=1),
                                                                      datetime.now(UTC))])
    finally:
        client.close()
    deadline = time.monotonic() + 30
    while running.rest.call("GET", f"/v1/workspaces/{ws}/profiles/u-2").status != 404:
        assert time.monotonic() < deadline, "the erasure was not finished"
        time.sleep(0.1)
