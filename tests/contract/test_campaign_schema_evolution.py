"""The campaign event schema itself under the registry's policy, on both buses:
an added optional field is accepted and both generations of readers decode
each other's messages; a changed field type is refused."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

import pytest

import event_schemas
from svc_kit.bus.port import IncompatibleSchema
from svc_kit.bus.schema import EventSchema

from svc_campaign.adapters import event_codec
from svc_campaign.domain.model import Campaign
from tests.contract.test_bus import bus_factory, receive_n  # noqa: F401 - the adapters fixture
from tests.fakes import ready_fields

V1 = event_schemas.load("campaign.v1")


def evolved(change) -> EventSchema:
    definition = copy.deepcopy(dict(V1.definition))
    change(definition)
    return EventSchema(definition)


def add_region(definition):
    definition["fields"].insert(-1, {"name": "region", "type": ["null", "string"], "default": None})


def version_as_text(definition):
    next(f for f in definition["fields"] if f["name"] == "aggregate_version")["type"] = "string"


def envelope() -> dict:
    return event_codec.envelope(Campaign.create("acme", "spring", ready_fields(), datetime.now(UTC)).events[0])


@pytest.fixture
def topic() -> str:
    return f"campaign-evolution-{uuid.uuid4().hex[:10]}"


def test_an_added_optional_field_is_accepted_and_both_generations_read_each_other(bus_factory, topic):
    v2 = evolved(add_region)
    bus = bus_factory()
    old_reader, new_reader = bus.consumer(topic, "v1-reader", V1), bus.consumer(topic, "v2-reader", v2)
    old_writer, new_writer = bus.producer(topic, V1), bus.producer(topic, v2)
    first = envelope()
    second = envelope() | {"region": "eu-west"}
    old_writer.send("spring", first)
    new_writer.send("spring", second)
    old_seen = [m.value for m in receive_n(old_reader, 2)]
    new_seen = [m.value for m in receive_n(new_reader, 2)]
    assert [v["event_id"] for v in old_seen] == [first["event_id"], second["event_id"]]
    assert "region" not in old_seen[1]
    assert [v["region"] for v in new_seen] == [None, "eu-west"]
    assert [event_codec.event_from_envelope(v).data for v in new_seen] == \
        [event_codec.event_from_envelope(v).data for v in old_seen]


def test_a_changed_field_type_is_refused(bus_factory, topic):
    bus = bus_factory()
    bus.producer(topic, V1).send("spring", envelope())
    with pytest.raises(IncompatibleSchema):
        bus.producer(topic, evolved(version_as_text))
