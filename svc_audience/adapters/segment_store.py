"""Segments and their membership queries on the MongoDB-wire database."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists

from svc_audience.adapters.repository import PROFILES, from_document, profile_key
from svc_audience.domain.segments import Segment

SEGMENTS = "segments"

# Who can be sent to on a channel: an address for it and consent granted
# (and, added per query, no suppression of the address or the profile).
REACHABLE: dict[Channel, dict[str, Any]] = {
    Channel.EMAIL: {"email": {"$gt": ""}, "consents.EMAIL.status": "GRANTED"},
    Channel.SMS: {"phone": {"$gt": ""}, "consents.SMS.status": "GRANTED"},
    # Both spellings of "has a device token": nx-27017 only understands
    # $elemMatch on arrays, FerretDB 1.24 only the dotted path.
    # Each condition in its own `$and` entry: nx-27017 leaves an `$or` written
    # beside other fields unbracketed in its SQL.
    Channel.PUSH: {"$and": [{"$or": [{"device_tokens": {"$elemMatch": {"token": {"$gt": ""}}}},
                                     {"device_tokens.token": {"$gt": ""}}]},
                            {"consents.PUSH.status": "GRANTED"}]},
    Channel.IN_APP: {"consents.IN_APP.status": "GRANTED"},
}


class SegmentStore:
    def __init__(self, database: Database):
        self.segments = database[SEGMENTS]
        self.profiles = database[PROFILES]

    def ensure_indexes(self) -> None:
        self.segments.create_index([("workspace", ASCENDING), ("segment_id", ASCENDING)], unique=True,
                                   name="segment_key")

    def add(self, segment: Segment) -> None:
        try:
            self.segments.insert_one(dict(vars(segment)))
        except DuplicateKeyError:
            raise AlreadyExists(f"workspaces/{segment.workspace}/segments/{segment.segment_id} already exists") \
                from None

    def get(self, workspace: str, segment_id: str) -> Segment | None:
        doc = self.segments.find_one({"workspace": workspace, "segment_id": segment_id}, {"_id": 0})
        return Segment(**doc) if doc else None

    def list(self, workspace: str, after: str, limit: int) -> list[Segment]:
        query: dict[str, Any] = {"workspace": workspace}
        if after:
            query["segment_id"] = {"$gt": after}
        cursor = self.segments.find(query, {"_id": 0}).sort("segment_id", ASCENDING).limit(limit)
        return [Segment(**doc) for doc in cursor]

    def replace(self, segment: Segment, expected_version: int) -> None:
        """Writes a changed segment read at `expected_version`; Aborted if it moved meanwhile."""
        found = self.segments.find_one_and_replace(
            {"workspace": segment.workspace, "segment_id": segment.segment_id, "version": expected_version},
            dict(vars(segment)))
        if found is None:
            raise Aborted(f"workspaces/{segment.workspace}/segments/{segment.segment_id} was changed by another "
                          "request; read it again and retry")

    def remove(self, workspace: str, segment_id: str) -> bool:
        return self.segments.delete_one({"workspace": workspace, "segment_id": segment_id}).deleted_count == 1

    def lookalike_seeded_by(self, workspace: str, segment_id: str) -> Segment | None:
        """The segment of a lookalike whose seed is `segment_id`, if any."""
        doc = self.segments.find_one({"workspace": workspace, "kind": "lookalike", "seed_segment": segment_id},
                                     {"_id": 0})
        return Segment(**doc) if doc else None

    @staticmethod
    def members_query(compiled: dict, channel: Channel | None, not_suppressed: dict | None = None) -> dict:
        """The segment's members, or those reachable on `channel` (address,
        consent, and not suppressed) when one is given."""
        if channel is None:
            return compiled
        return {"$and": [compiled, REACHABLE[channel], *([not_suppressed] if not_suppressed else [])]}

    def count(self, query: dict) -> int:
        # The `count` command rather than count_documents (an aggregation):
        # nx-27017 answers it with one SQL COUNT, where its aggregation
        # decodes every document in Python (18x slower on 20,000 profiles).
        # But its SQL gets absent fields wrong under negation ($ne, $nin,
        # $exists: false, $nor count too few or too many), so a query with
        # any of those is counted the slow, right way.
        if _negates(query):
            return self.profiles.count_documents(query)
        return self.profiles.database.command("count", self.profiles.name, query=query)["n"]

    def which(self, query: dict, external_ids: list[str], workspace: str | None = None) -> set[str]:
        """Those of `external_ids` the query selects; given the workspace, they
        are narrowed by document key (MongoDB and nx-27017 look keys up in their
        _id index; nx-27017 evaluates `external_id: {$in}` in Python, document
        by document)."""
        narrowed = {"$and": [query, {"_id": {"$in": [profile_key(workspace, i) for i in external_ids]}}
                             if workspace is not None else {"external_id": {"$in": external_ids}}]}
        return {d["external_id"] for d in self.profiles.find(narrowed, {"_id": 0, "external_id": 1})}

    def stream(self, query: dict, after: str, full: bool, batch: int):
        """Members in external id order after `after`, read in batches from one cursor."""
        if after:
            query = {"$and": [query, {"external_id": {"$gt": after}}]}
        projection = {"_id": 0} if full else {"_id": 0, "external_id": 1}
        cursor = self.profiles.find(query, projection).sort("external_id", ASCENDING).batch_size(batch)
        for doc in cursor:
            yield from_document(doc) if full else doc["external_id"]

    def members(self, query: dict, after: str, limit: int, full: bool):
        if after:
            query = {"$and": [query, {"external_id": {"$gt": after}}]}
        projection = {"_id": 0} if full else {"_id": 0, "workspace": 1, "external_id": 1}
        cursor = self.profiles.find(query, projection).sort("external_id", ASCENDING).limit(limit)
        return [from_document(d) if full else d["external_id"] for d in cursor]

    def all_in(self, workspace: str) -> list[Segment]:
        return [Segment(**doc) for doc in self.segments.find({"workspace": workspace}, {"_id": 0})]

    def everywhere(self) -> list[Segment]:
        return [Segment(**doc) for doc in self.segments.find({}, {"_id": 0})]


def _negates(node: Any) -> bool:
    """Whether a filter holds a negation or a null, where nx-27017's `count` command errs."""
    if isinstance(node, dict):
        return any(key in ("$nor", "$not", "$ne", "$nin") or (key == "$exists" and not value)
                   or _negates(value) for key, value in node.items())
    if isinstance(node, list):
        return any(v is None or _negates(v) for v in node)
    return False

