"""The campaign event codec: JSON payloads of the event stream and Avro
envelopes of the campaign topic, checked against the real schema
(event_schemas/campaign.v1.avsc)."""

from __future__ import annotations

import io
import json
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

import fastavro
import pytest

import event_schemas
from svc_kit.bus.schema import EventSchema

from svc_campaign.adapters import event_codec
from svc_campaign.domain.events import EVENT_TYPES, CampaignEvent
from svc_campaign.domain.model import Campaign, CampaignFields
from svc_campaign.domain.values import Budget, Channel, ContentRef, Money, Pacing, Schedule
from tests.fakes import ready_fields

SCHEMA = event_schemas.load("campaign.v1")
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
PLUS_TWO = timezone(timedelta(hours=2))
T0 = datetime(2026, 3, 1, 14, 0, 0, 123456, tzinfo=PLUS_TWO)  # not UTC, with microseconds
START = datetime(2026, 4, 1, 9, 30, 15, 654321, tzinfo=PLUS_TWO)

# Written out independently of event_codec.record_name.
BRANCHES = {
    "campaign_created": "marketing.campaign.v1.CampaignCreated",
    "campaign_updated": "marketing.campaign.v1.CampaignUpdated",
    "campaign_scheduled": "marketing.campaign.v1.CampaignScheduled",
    "campaign_unscheduled": "marketing.campaign.v1.CampaignUnscheduled",
    "campaign_started": "marketing.campaign.v1.CampaignStarted",
    "campaign_paused": "marketing.campaign.v1.CampaignPaused",
    "campaign_resumed": "marketing.campaign.v1.CampaignResumed",
    "campaign_completed": "marketing.campaign.v1.CampaignCompleted",
    "campaign_cancelled": "marketing.campaign.v1.CampaignCancelled",
    "campaign_deleted": "marketing.campaign.v1.CampaignDeleted",
    # No record of its own: the shape of every state change, in the CampaignCancelled branch (schema unchanged).
    "campaign_failed": "marketing.campaign.v1.CampaignCancelled",
}


def _sample_events() -> list[CampaignEvent]:
    """Events as the aggregate makes them: every type, full and sparse fields."""
    full = ready_fields(start=START, display_name="Été — soldes 🎉", labels={"team": "growth", "empty": ""},
                        budget=Budget(Money("EUR", Decimal("1000.50")),
                                      ready_fields().budget.allocations))
    spring = Campaign.create("acme", "spring", full, T0)
    minutes = iter(range(1, 100))

    def now() -> datetime:
        return T0 + timedelta(minutes=next(minutes), microseconds=7)

    spring.update(ready_fields(schedule=Schedule(end_time=START + timedelta(days=30))), {"schedule.end_time"}, now())
    for action in ["schedule", "unschedule", "schedule", "start", "pause", "resume", "complete"]:
        spring.transition(action, now())
    spring.delete(now())

    # Sparse: no schedule, no budget, no labels; then a schedule with only some parts and a tiny amount.
    bare = Campaign.create("globex", "bare", CampaignFields(display_name="Bare"), T0)
    bare.update(CampaignFields(schedule=Schedule(time_zone="UTC"),
                               budget=Budget(Money("JPY", Decimal("0.000000001"))),
                               contents=(ContentRef(Channel.PUSH, "workspaces/globex/templates/p"),)),
                {"schedule.time_zone", "budget", "contents"}, now())
    bare.transition("cancel", now())

    # When messages go out: throttled and paced, then at the recipients' local time.
    timed = Campaign.create("acme", "timed", ready_fields(
        start=START, schedule=Schedule(START, START + timedelta(days=2), "Europe/Paris", None, 250),
        budget=Budget(Money("EUR", Decimal("10")), pacing=Pacing.FRONT_LOADED)), T0)
    timed.update(ready_fields(start=START, schedule=Schedule(START, START + timedelta(days=2), "Europe/Paris",
                                                             time(9, 30, 5, 250000)),
                              budget=Budget(Money("EUR", Decimal("10")))), {"schedule", "budget"}, now())
    # A launch that failed for good: the upkeep fails the campaign, which may then be deleted.
    broken = Campaign.create("acme", "broken", ready_fields(start=START), T0)
    for action in ["schedule", "start", "pause", "fail"]:
        broken.transition(action, now())
    broken.delete(now())
    return spring.events + bare.events + timed.events + broken.events


EVENTS = _sample_events()
IDS = [f"{e.campaign_id}-v{e.version}-{e.type}" for e in EVENTS]


def test_the_samples_cover_every_event_type():
    assert {e.type for e in EVENTS} == set(EVENT_TYPES) == set(BRANCHES)


# -- JSON payloads (the event stream) -------------------------------------------------------------------


@pytest.mark.parametrize("event", EVENTS, ids=IDS)
def test_payload_record_roundtrips_through_json(event):
    payload = json.loads(json.dumps(event_codec.payload_record(event)))  # plain JSON: no default= needed

    back = event_codec.event_from_payload(event.event_id, event.type, event.workspace, event.campaign_id,
                                          event.version, event.occurred_at, payload)

    assert back == event


def test_json_payload_shapes():
    """The stored history must stay readable: these shapes are what the campaign_events rows hold."""
    created = Campaign.create("acme", "x", CampaignFields(
        display_name="X", schedule=Schedule(START, None, "Europe/Paris"),
        budget=Budget(Money("EUR", Decimal("10.50"))), labels={"a": "b"}), T0)
    created.update(CampaignFields(display_name="Y"), {"display_name"}, T0)
    created.transition("cancel", T0)
    created.delete(T0)
    fields = {"display_name": "X", "description": "", "channels": [],
              "schedule": {"start_time": "2026-04-01T09:30:15.654321+02:00", "end_time": None,
                           "time_zone": "Europe/Paris", "send_local_time": None, "max_sends_per_hour": 0},
              "budget": {"currency": "EUR", "total": "10.50", "allocations": [], "pacing": "NONE"},
              "target_segments": [], "contents": [], "labels": {"a": "b"}}

    assert [event_codec.payload_record(e) for e in created.events] == [
        {"fields": fields},
        {"changed_paths": ["display_name"], "fields": fields | {"display_name": "Y"}},
        {"from_state": "DRAFT", "to_state": "CANCELLED"},
        {"last_state": "CANCELLED"},
    ]


def test_a_payload_written_before_send_times_reads_as_sending_as_soon_as_allowed():
    old = {"fields": {"display_name": "X", "schedule": {"start_time": None, "end_time": None, "time_zone": "UTC"},
                      "budget": {"currency": "EUR", "total": "1", "allocations": []}}}

    fields = event_codec.event_from_payload("e", "campaign_created", "acme", "x", 1, T0, old).data["fields"]

    assert (fields.schedule.send_local_time, fields.schedule.max_sends_per_hour) == (None, 0)
    assert fields.budget.pacing is Pacing.NONE


# -- Avro envelopes (the campaign topic) ----------------------------------------------------------------


@pytest.mark.parametrize("event", EVENTS, ids=IDS)
def test_envelope_roundtrips_through_avro_with_the_real_schema(event):
    data = SCHEMA.encode(event_codec.envelope(event, TRACEPARENT, "vendor=1"))

    decoded = SCHEMA.decode(data)

    assert event_codec.event_from_envelope(decoded) == event
    assert {k: v for k, v in decoded.items() if k != "payload"} == {
        "event_id": event.event_id, "event_type": event.type, "workspace": event.workspace,
        "aggregate_id": event.campaign_id, "aggregate_version": event.version, "occurred_at": event.occurred_at,
        "producer": "svc_campaign", "traceparent": TRACEPARENT, "tracestate": "vendor=1"}
    assert decoded["occurred_at"].microsecond == event.occurred_at.microsecond


@pytest.mark.parametrize("event", EVENTS, ids=IDS)
def test_the_payload_is_written_in_the_branch_of_its_event_type(event):
    """State events all have the same shape, so only the named branch tells them apart on the wire."""
    data = SCHEMA.encode(event_codec.envelope(event))

    decoded = fastavro.schemaless_reader(io.BytesIO(data), SCHEMA.parsed, return_record_name=True)

    branch, _ = decoded["payload"]
    assert branch == BRANCHES[event.type]


@pytest.mark.parametrize("event", EVENTS, ids=IDS)
def test_an_envelope_not_yet_encoded_reads_back(event):
    """In memory the payload is still the (branch name, record) pair the writer needs."""
    assert event_codec.event_from_envelope(event_codec.envelope(event)) == event


def test_campaign_failed_travels_in_the_cancelled_branch_and_keeps_its_event_type():
    failed = next(e for e in EVENTS if e.type == "campaign_failed")

    decoded = SCHEMA.decode(SCHEMA.encode(event_codec.envelope(failed)))

    assert decoded["event_type"] == "campaign_failed"
    assert decoded["payload"] == {"from_state": "PAUSED", "to_state": "FAILED"}  # what state-copy readers use
    assert event_codec.event_from_envelope(decoded).type == "campaign_failed"


def test_trace_context_is_optional():
    decoded = SCHEMA.decode(SCHEMA.encode(event_codec.envelope(EVENTS[0])))
    assert (decoded["traceparent"], decoded["tracestate"]) == (None, None)
    assert event_codec.event_from_envelope(decoded) == EVENTS[0]


def test_topic():
    assert event_codec.TOPIC == "persistent://public/default/marketing.campaign.v1"


# -- the schema -----------------------------------------------------------------------------------------

# The wire format of campaign.v1. A change of this value changes what consumers read: the schema must
# evolve compatibly (see event_schemas/__init__.py); update the value only together with that review.
CANONICAL_FINGERPRINT = "08eecb60c0eea3ad"


def test_the_schema_canonical_form_is_stable():
    assert SCHEMA.fingerprint == CANONICAL_FINGERPRINT
    assert event_schemas.load("campaign.v1").canonical == SCHEMA.canonical
    assert SCHEMA.name == "marketing.campaign.v1.CampaignEvent"


def _strip_docs(node):
    if isinstance(node, dict):
        return {k: _strip_docs(v) for k, v in node.items() if k != "doc"}
    if isinstance(node, list):
        return [_strip_docs(v) for v in node]
    return node


def test_the_canonical_form_ignores_layout_and_docs_but_not_meaning():
    relaid = json.loads(json.dumps(_strip_docs(SCHEMA.definition), sort_keys=True))
    assert EventSchema(relaid).canonical == SCHEMA.canonical
    assert EventSchema(relaid) == SCHEMA

    changed = json.loads(json.dumps(SCHEMA.definition))
    changed["fields"][-1]["type"][-1]["fields"][0]["name"] = "previous_state"  # CampaignDeleted.last_state
    assert EventSchema(changed).canonical != SCHEMA.canonical
