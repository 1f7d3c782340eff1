"""The campaign service's copy of segment membership, on SQLite and
PostgreSQL, fed through a real bus and the inbox: every event applied once,
duplicates and redeliveries change nothing, a deleted segment is forgotten,
and a campaign's audience is the union of its target segments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine

import event_schemas
from svc_kit.bus.embedded import EmbeddedBus

from svc_campaign.domain import commands
from svc_campaign.domain.model import CampaignFields
from svc_campaign.entrypoints.segment_cache_consumer import SEGMENT_TOPIC, segment_cache_consumer
from svc_campaign.service_layer import audience, handlers
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from tests.unit.campaign.test_handlers import Clock, Ids

SCHEMA = event_schemas.load("segment.v1")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def event(segment_id: str, added=(), removed=(), deleted=False, event_id=None, workspace="acme") -> dict:
    name = f"workspaces/{workspace}/segments/{segment_id}"
    payload = (("marketing.audience.v1.SegmentDeleted", {"segment": name}) if deleted else
               ("marketing.audience.v1.SegmentUpdated", {"segment": name, "added": list(added),
                                                          "removed": list(removed), "reason": "profiles_changed"}))
    return {"event_id": event_id or uuid.uuid4().hex, "event_type": "segment_deleted" if deleted else "segment_updated",
            "workspace": workspace, "aggregate_id": segment_id, "aggregate_version": 1, "occurred_at": NOW,
            "producer": "svc_audience", "traceparent": None, "tracestate": None, "payload": payload}


def deliver(engine: Engine, tmp_path, records: list[dict]) -> None:
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    try:
        consumer = segment_cache_consumer(bus, engine)
        producer = bus.producer(SEGMENT_TOPIC, SCHEMA)
        for record in records:
            producer.send(record["payload"][1]["segment"], record)
        while consumer.poll(timeout=0.2):
            pass
        consumer.consumer.close()
    finally:
        bus.close()


def campaign(engine: Engine, *segments: str) -> str:
    created = handlers.create_campaign(commands.CreateCampaign("acme", CampaignFields(
        display_name="Spring", target_segments=tuple(f"workspaces/acme/segments/{s}" for s in segments))),
        SqlUnitOfWork(engine), Clock(), Ids())
    return created.id


def test_the_copy_follows_segment_events_once_each(engine, tmp_path):
    first = event("vip", added=["a", "b", "c"])
    deliver(engine, tmp_path, [first, first,  # a duplicate: the same event id
                               event("vip", removed=["b"]), event("vip", added=["c"]),  # c again: no change
                               event("new", added=["c", "d"]),
                               event("vip", added=["x"], workspace="other")])
    campaign_id = campaign(engine, "vip", "new", "never-heard-of")
    found = audience.get_audience("acme", campaign_id, SqlUnitOfWork(engine))
    assert found.size == 3  # a, c, d
    assert [(s.segment_id, s.state, s.size) for s in found.segments] == [
        ("vip", "CURRENT", 2), ("new", "CURRENT", 2), ("never-heard-of", "UNKNOWN", 0)]
    page, token = audience.list_members("acme", campaign_id, 2, "", SqlUnitOfWork(engine))
    assert page == ["a", "c"] and token
    rest, token = audience.list_members("acme", campaign_id, 2, token, SqlUnitOfWork(engine))
    assert rest == ["d"] and token == ""

    deliver(engine, tmp_path, [event("vip", deleted=True)])
    found = audience.get_audience("acme", campaign_id, SqlUnitOfWork(engine))
    assert [(s.segment_id, s.state, s.size) for s in found.segments][:1] == [("vip", "DELETED", 0)]
    assert found.size == 2


def test_a_large_change_applies_in_batches(engine, tmp_path):
    many = [f"p{i:05d}" for i in range(2500)]
    deliver(engine, tmp_path, [event("big", added=many), event("big", removed=many[:1000])])
    campaign_id = campaign(engine, "big")
    assert audience.get_audience("acme", campaign_id, SqlUnitOfWork(engine)).size == 1500
