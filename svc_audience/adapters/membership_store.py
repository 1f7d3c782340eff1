"""Who is in which segment as of the last upkeep pass: one document per
(segment, profile). The upkeep worker diffs fresh query results against it to
publish who entered and who left."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from pymongo import ASCENDING, DeleteMany, InsertOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

MEMBERSHIPS = "memberships"
UPKEEP_REQUESTS = "segment_upkeep"
CHUNK = 90  # FerretDB 1.24 never answers a write command of 100+ matching statements
INSERT_CHUNK = 5000  # inserts match nothing, so they may go in larger commands
LOOKUP_CHUNK = 5000
DUPLICATE_KEY = 11000


def _key(workspace: str, segment_id: str, external_id: str) -> str:
    return f"{workspace}/{segment_id}/{external_id}"


class MembershipStore:
    def __init__(self, database: Database):
        self.memberships = database[MEMBERSHIPS]
        self.requests = database[UPKEEP_REQUESTS]

    def ensure_indexes(self) -> None:
        self.memberships.create_index([("workspace", ASCENDING), ("profile", ASCENDING)], name="member_profile")
        self.memberships.create_index([("workspace", ASCENDING), ("segment_id", ASCENDING), ("profile", ASCENDING)],
                                      name="member_segment")

    def among(self, workspace: str, external_ids: list[str], segment_ids: list[str]) -> dict[str, set[str]]:
        """Segment id -> those of `external_ids` that are members, looked up by
        document key (nx-27017 evaluates `$in` on other fields document by
        document; on `_id` it uses its index)."""
        found: dict[str, set[str]] = defaultdict(set)
        keys = [_key(workspace, s, i) for s in segment_ids for i in external_ids]
        for start in range(0, len(keys), LOOKUP_CHUNK):
            cursor = self.memberships.find({"_id": {"$in": keys[start:start + LOOKUP_CHUNK]}},
                                           {"_id": 0, "segment_id": 1, "profile": 1})
            for doc in cursor:
                found[doc["segment_id"]].add(doc["profile"])
        return found

    def members(self, workspace: str, segment_id: str) -> Iterator[str]:
        cursor = self.memberships.find({"workspace": workspace, "segment_id": segment_id},
                                       {"_id": 0, "profile": 1}).sort("profile", ASCENDING).batch_size(5000)
        return (doc["profile"] for doc in cursor)

    def count(self, workspace: str, segment_id: str) -> int:
        return self.memberships.count_documents({"workspace": workspace, "segment_id": segment_id})

    def add(self, workspace: str, segment_id: str, external_ids: Iterable[str]) -> None:
        operations = [InsertOne({"_id": _key(workspace, segment_id, i), "workspace": workspace,
                                 "segment_id": segment_id, "profile": i}) for i in external_ids]
        for start in range(0, len(operations), INSERT_CHUNK):
            try:
                self.memberships.bulk_write(operations[start:start + INSERT_CHUNK], ordered=False)
            except BulkWriteError as error:  # already a member: a pass that was cut short is running again
                if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                    raise

    def remove(self, workspace: str, segment_id: str, external_ids: Iterable[str]) -> None:
        keys = [_key(workspace, segment_id, i) for i in external_ids]
        for start in range(0, len(keys), CHUNK):
            self.memberships.bulk_write([DeleteMany({"_id": {"$in": keys[start:start + CHUNK]}})])

    def drop_segment(self, workspace: str, segment_id: str) -> None:
        self.memberships.delete_many({"workspace": workspace, "segment_id": segment_id})
        self.requests.delete_one({"_id": f"{workspace}/{segment_id}"})

    # -- full recomputation requests (a new or changed definition, a moving time window) ---------------

    def request_recompute(self, workspace: str, segment_id: str, stamp: int) -> None:
        key = f"{workspace}/{segment_id}"  # given in the document too: nx-27017 ignores the filter's _id on upsert
        self.requests.replace_one({"_id": key}, {"_id": key, "workspace": workspace, "segment_id": segment_id,
                                                 "stamp": stamp}, upsert=True)

    def recompute_requests(self, limit: int) -> list[tuple[str, str, int]]:
        cursor = self.requests.find({}, {"_id": 0}).sort("stamp", ASCENDING).limit(limit)
        return [(d["workspace"], d["segment_id"], d["stamp"]) for d in cursor]

    def recomputed(self, workspace: str, segment_id: str, stamp: int) -> None:
        """Clears the request, unless a newer one came in meanwhile."""
        self.requests.delete_one({"_id": f"{workspace}/{segment_id}", "stamp": stamp})
