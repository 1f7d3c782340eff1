"""Lookalikes on the MongoDB-wire database, and what fitting one reads and
writes on profiles: documents streamed in batches, scores written in bulk.

Instants are kept as epoch milliseconds, so every write can be a `$set`
(nx-27017 stores a datetime given to `$set` as text). Score writes go in
chunks of BULK_CHUNK, keyed by `_id` (nx-27017 finds by `_id` ten times
faster than by any other key); each bumps the profile's version, so a
concurrent whole-document writer retries instead of dropping the score, and
marks it stale for segment upkeep."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from svc_kit.errors import Aborted, AlreadyExists

from svc_audience.adapters.repository import BULK_CHUNK, PROFILES, STALE
from svc_audience.adapters.segment_store import SEGMENTS
from svc_audience.domain.lookalike import Lookalike, Progress, Quality, score_path

LOOKALIKES = "lookalikes"
FEATURE_FIELDS = {"_id": 1, "external_id": 1, "email": 1, "phone": 1, "locale": 1, "time_zone": 1,
                  "device_tokens": 1, "attributes": 1, "consents": 1, "behaviour": 1}
TIMES = ("fit_time", "create_time", "update_time")


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def to_document(lookalike: Lookalike) -> dict[str, Any]:
    doc = asdict(lookalike)
    for name in TIMES:
        doc[name + "_ms"] = _ms(doc.pop(name))
    doc["features"] = list(lookalike.features)
    return doc


def from_document(doc: dict[str, Any]) -> Lookalike:
    fields = {k: v for k, v in doc.items() if k not in ("_id", "claim_owner", "claim_until_ms")}
    for name in TIMES:
        fields[name] = _time(fields.pop(name + "_ms", None))
    fields["features"] = tuple(fields.get("features") or ())
    fields["progress"] = Progress(**(fields.get("progress") or {}))
    fields["quality"] = Quality(**fields["quality"]) if fields.get("quality") else None
    return Lookalike(**fields)


class LookalikeStore:
    def __init__(self, database: Database):
        self.lookalikes = database[LOOKALIKES]
        self.profiles = database[PROFILES]
        self.segments = database[SEGMENTS]

    def ensure_indexes(self) -> None:
        self.lookalikes.create_index([("workspace", ASCENDING), ("lookalike_id", ASCENDING)], unique=True,
                                     name="lookalike_key")
        self.lookalikes.create_index([("workspace", ASCENDING), ("request_id", ASCENDING)], name="lookalike_request")

    # -- lookalikes ---------------------------------------------------------------------------------------

    def add(self, lookalike: Lookalike) -> None:
        try:
            self.lookalikes.insert_one({**to_document(lookalike), "claim_owner": "", "claim_until_ms": 0})
        except DuplicateKeyError:
            raise AlreadyExists(f"{lookalike.name} already exists") from None

    def get(self, workspace: str, lookalike_id: str) -> Lookalike | None:
        doc = self.lookalikes.find_one({"workspace": workspace, "lookalike_id": lookalike_id}, {"_id": 0})
        return from_document(doc) if doc else None

    def find_by_request_id(self, workspace: str, request_id: str) -> Lookalike | None:
        doc = self.lookalikes.find_one({"workspace": workspace, "request_id": request_id}, {"_id": 0})
        return from_document(doc) if doc else None

    def list(self, workspace: str, after: str, limit: int) -> list[Lookalike]:
        query: dict[str, Any] = {"workspace": workspace}
        if after:
            query["lookalike_id"] = {"$gt": after}
        cursor = self.lookalikes.find(query, {"_id": 0}).sort("lookalike_id", ASCENDING).limit(limit)
        return [from_document(doc) for doc in cursor]

    def save(self, lookalike: Lookalike, expected_version: int) -> None:
        """Writes a changed lookalike; Aborted if someone else changed it since."""
        result = self.lookalikes.update_one(
            {"workspace": lookalike.workspace, "lookalike_id": lookalike.lookalike_id, "version": expected_version},
            {"$set": to_document(lookalike)})
        if result.matched_count != 1:
            raise Aborted(f"{lookalike.name} was changed by another request; read it again and retry")

    def remove(self, workspace: str, lookalike_id: str) -> bool:
        return self.lookalikes.delete_one({"workspace": workspace, "lookalike_id": lookalike_id}).deleted_count == 1

    # -- the fitting worker's lease ---------------------------------------------------------------------

    def claim_next(self, owner: str, now_ms: int, lease_ms: int) -> Lookalike | None:
        """A lookalike that is owed work and that no live worker holds, now held by `owner`."""
        due = self.lookalikes.find({"pending": {"$gt": ""}, "claim_until_ms": {"$lt": now_ms}},
                                   {"_id": 0, "workspace": 1, "lookalike_id": 1}).limit(10)
        for key in list(due):
            self.lookalikes.update_one({**key, "claim_until_ms": {"$lt": now_ms}},
                                       {"$set": {"claim_owner": owner, "claim_until_ms": now_ms + lease_ms}})
            doc = self.lookalikes.find_one(key, {"_id": 0})
            if doc and doc.get("claim_owner") == owner and doc.get("pending"):
                return from_document(doc)
        return None

    def renew(self, workspace: str, lookalike_id: str, owner: str, now_ms: int, lease_ms: int,
              progress: Progress) -> int | None:
        """Extends the lease and reports progress; the lookalike's current
        generation, or None when it is gone or another worker holds it."""
        key = {"workspace": workspace, "lookalike_id": lookalike_id}
        self.lookalikes.update_one({**key, "claim_owner": owner},
                                   {"$set": {"claim_until_ms": now_ms + lease_ms, "progress": asdict(progress)}})
        doc = self.lookalikes.find_one(key, {"_id": 0, "generation": 1, "claim_owner": 1})
        return doc["generation"] if doc and doc.get("claim_owner") == owner else None

    def release(self, workspace: str, lookalike_id: str, owner: str) -> None:
        self.lookalikes.update_one({"workspace": workspace, "lookalike_id": lookalike_id, "claim_owner": owner},
                                   {"$set": {"claim_owner": "", "claim_until_ms": 0}})

    # -- profiles -----------------------------------------------------------------------------------------

    def count_profiles(self, workspace: str) -> int:
        return self.profiles.count_documents({"workspace": workspace})

    def profile_batches(self, workspace: str, size: int) -> Iterator[list[dict[str, Any]]]:
        """The workspace's profile documents (what features need, and `_id`), from one cursor."""
        batch: list[dict[str, Any]] = []
        for doc in self.profiles.find({"workspace": workspace}, FEATURE_FIELDS).batch_size(size):
            batch.append(doc)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    def score_batches(self, workspace: str, lookalike_id: str, size: int) -> Iterator[list[tuple[str, float]]]:
        """(external id, score) of the workspace's scored profiles."""
        path = score_path(lookalike_id)
        cursor = self.profiles.find({"workspace": workspace, path: {"$exists": True}},
                                    {"_id": 0, "external_id": 1, "scores": 1}).batch_size(size)
        batch: list[tuple[str, float]] = []
        for doc in cursor:
            # nx-27017 answers a dotted projection with a flat key; project the map and read inside.
            score = (doc.get("scores") or {}).get(lookalike_id)
            if isinstance(score, int | float):
                batch.append((doc["external_id"], float(score)))
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    def write_scores(self, workspace: str, lookalike_id: str, scores: list[tuple[Any, float]]) -> None:
        """Sets `scores.<lookalike id>` on each (profile _id, score), in chunks."""
        path = score_path(lookalike_id)
        for start in range(0, len(scores), BULK_CHUNK):
            self.profiles.bulk_write([
                UpdateOne({"_id": _id, "workspace": workspace},
                          {"$set": {path: score, STALE: True}, "$inc": {"version": 1}})
                for _id, score in scores[start:start + BULK_CHUNK]], ordered=False)

    def remove_scores(self, workspace: str, lookalike_id: str) -> None:
        path = score_path(lookalike_id)
        self.profiles.update_many({"workspace": workspace, path: {"$exists": True}},
                                  {"$unset": {path: ""}, "$set": {STALE: True}, "$inc": {"version": 1}})

    # -- the lookalike's segment --------------------------------------------------------------------------

    def set_cut(self, workspace: str, segment_id: str, threshold: float | None, excluded_rule: str) -> None:
        """Who the lookalike's segment holds: scores from `threshold` up, minus the excluded rule's profiles."""
        self.segments.update_one({"workspace": workspace, "segment_id": segment_id},
                                 {"$set": {"threshold": threshold, "excluded_rule": excluded_rule}})

    def rename_segment(self, workspace: str, segment_id: str, display_name: str, description: str) -> None:
        self.segments.update_one({"workspace": workspace, "segment_id": segment_id},
                                 {"$set": {"display_name": display_name, "description": description}})
