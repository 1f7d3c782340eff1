"""The outbox for services that keep documents (MongoDB wire protocol).

The servers this platform runs on ignore multi-document transactions, so an
event cannot commit atomically with its change. Services write the outbox
entry first, as a durable intent, and make the change after it; the event's
consumers (the producing service among them, for erasure) complete what a
crash in between left undone, idempotently."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection

from svc_kit.bus.schema import EventSchema
from svc_kit.clock import utcnow
from svc_kit.events.entry import OutboxEntry
from svc_kit.events.outbox import OutboxStore, Pending
from svc_kit.events.spans import with_current_trace


class MongoOutbox:
    def __init__(self, collection: Collection, schemas: Mapping[str, EventSchema]):
        self.collection = collection
        self.schemas = schemas

    def ensure_indexes(self) -> None:
        self.collection.create_index([("published", ASCENDING)], name="outbox_unpublished")

    def write(self, entries: Sequence[OutboxEntry]) -> None:
        if entries:
            self.collection.insert_many([
                {"event_id": e.event_id, "topic": e.topic, "key": e.key,
                 # Base64 text rather than BSON binary: nx-27017 cannot store binary values.
                 "value": base64.b64encode(self.schemas[e.topic].encode(e.record)).decode("ascii"),
                 "properties": with_current_trace(e.properties),  # the trace the entry was written in
                 "created_time": utcnow(), "published": False}
                for e in entries
            ], ordered=True)


class MongoOutboxStore(OutboxStore):
    """Entries in insertion order: ObjectIds of one writer process increase."""

    def __init__(self, outbox: MongoOutbox):
        self.collection = outbox.collection

    def unpublished(self, limit: int) -> list[Pending]:
        cursor = self.collection.find({"published": False}).sort("_id", ASCENDING).limit(limit)
        return [Pending(d["_id"], d["topic"], d["key"], base64.b64decode(d["value"]), d.get("properties", {}))
                for d in cursor]

    def backlog(self) -> tuple[int, datetime | None]:
        count = self.collection.count_documents({"published": False})
        if not count:
            return 0, None
        first = self.collection.find_one({"published": False}, sort=[("_id", ASCENDING)])
        if first is None:
            return 0, None
        created = first.get("created_time")
        if isinstance(created, datetime):
            return count, created if created.tzinfo else created.replace(tzinfo=UTC)
        return count, first["_id"].generation_time  # the ObjectId's time (whole seconds)

    def mark_published(self, ids: list[Any]) -> None:
        # A flag, not a time: nx-27017 stores a datetime given to $set as text.
        self.collection.update_many({"_id": {"$in": ids}}, {"$set": {"published": True}})
