"""Frozen memberships: a snapshot copies a segment's members (on a channel) at
one moment, for a campaign launch; later profile changes do not alter it, and
only an erasure removes someone from it."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from svc_kit.errors import AlreadyExists

from svc_audience.service_layer.ports import Snapshot

SNAPSHOTS = "snapshots"
SNAPSHOT_MEMBERS = "snapshot_members"
WRITE_BATCH = 5000


class SnapshotStore:
    def __init__(self, database: Database):
        self.snapshots = database[SNAPSHOTS]
        self.members = database[SNAPSHOT_MEMBERS]

    def ensure_indexes(self) -> None:
        self.snapshots.create_index([("workspace", ASCENDING), ("segment_id", ASCENDING),
                                     ("snapshot_id", ASCENDING)], unique=True, name="snapshot_key")
        self.members.create_index([("workspace", ASCENDING), ("segment_id", ASCENDING), ("snapshot_id", ASCENDING),
                                   ("external_id", ASCENDING)], unique=True, name="snapshot_member")
        self.members.create_index([("workspace", ASCENDING), ("external_id", ASCENDING)], name="member_profile")

    def create(self, snapshot: Snapshot, external_ids: Iterable[str]) -> Snapshot:
        """Stores the members in batches, then the snapshot itself with its size."""
        key = {"workspace": snapshot.workspace, "segment_id": snapshot.segment_id,
               "snapshot_id": snapshot.snapshot_id}
        if self.snapshots.find_one(key, {"_id": 1}) is not None:
            raise AlreadyExists(f"workspaces/{snapshot.workspace}/segments/{snapshot.segment_id}/snapshots/"
                                f"{snapshot.snapshot_id} already exists")
        ids, size = iter(external_ids), 0
        while batch := list(islice(ids, WRITE_BATCH)):
            self.members.insert_many([key | {"external_id": e} for e in batch], ordered=False)
            size += len(batch)
        stored = Snapshot(**{**vars(snapshot), "size": size})
        try:
            self.snapshots.insert_one(dict(vars(stored)))
        except DuplicateKeyError:
            raise AlreadyExists("a snapshot with this id was made meanwhile") from None
        return stored

    def get(self, workspace: str, segment_id: str, snapshot_id: str) -> Snapshot | None:
        doc = self.snapshots.find_one({"workspace": workspace, "segment_id": segment_id, "snapshot_id": snapshot_id},
                                      {"_id": 0})
        return Snapshot(**doc) if doc else None

    def list(self, workspace: str, segment_id: str, after: str, limit: int) -> list[Snapshot]:
        query: dict[str, Any] = {"workspace": workspace, "segment_id": segment_id}
        if after:
            query["snapshot_id"] = {"$gt": after}
        return [Snapshot(**d) for d in self.snapshots.find(query, {"_id": 0}).sort("snapshot_id", ASCENDING)
                .limit(limit)]

    def remove(self, workspace: str, segment_id: str, snapshot_id: str) -> bool:
        key = {"workspace": workspace, "segment_id": segment_id, "snapshot_id": snapshot_id}
        self.members.delete_many(key)
        return self.snapshots.delete_one(key).deleted_count == 1

    def member_ids(self, workspace: str, segment_id: str, snapshot_id: str, after: str, limit: int) -> list[str]:
        query: dict[str, Any] = {"workspace": workspace, "segment_id": segment_id, "snapshot_id": snapshot_id}
        if after:
            query["external_id"] = {"$gt": after}
        cursor = self.members.find(query, {"_id": 0, "external_id": 1}).sort("external_id", ASCENDING).limit(limit)
        return [d["external_id"] for d in cursor]

    def forget(self, workspace: str, external_id: str) -> int:
        """Erasure: the profile leaves every snapshot."""
        return self.members.delete_many({"workspace": workspace, "external_id": external_id}).deleted_count
