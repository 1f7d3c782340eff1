"""Suppressions on the MongoDB-wire database, and the part of a member query
that leaves suppressed people out.

One document per entry, keyed by (workspace, suppression_id); a second unique
index on (workspace, subject_kind, subject, channel) keeps one entry per
subject and channel. Writes replace whole documents, guarded by the version
(nx-27017 stores a datetime given to $set as text), and bulk writes go in
chunks of BULK_CHUNK (FerretDB 1.24 never answers an update command in which
100 or more statements match)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, InsertOne, ReplaceOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists

from svc_audience.adapters.repository import BULK_CHUNK
from svc_audience.domain.suppression import Condition, Reason, Suppression, subject_label
from svc_audience.service_layer.ports import Key

SUPPRESSIONS = "suppressions"
ALL_CHANNELS = "ALL"
_SUBJECT_FIELD = {"email": "email", "phone": "phone", "profile": "external_id"}
_OPERATORS = {"=": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}



def _utc(value):
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def _channel_value(channel: Channel | None) -> str:
    return channel.value if channel else ALL_CHANNELS


def _to_document(s: Suppression) -> dict[str, Any]:
    return {"workspace": s.workspace, "suppression_id": s.suppression_id, "subject_kind": s.subject_kind,
            "subject": s.subject, "channel": _channel_value(s.channel),
            "reason": s.reason.value, "note": s.note, "source": s.source, "campaign": s.campaign,
            "expire_time": s.expire_time, "create_time": s.create_time,
            "update_time": s.update_time or s.create_time, "version": s.version}


def _from_document(d: dict[str, Any]) -> Suppression:
    return Suppression(d["workspace"], d["suppression_id"], d["subject_kind"], d["subject"],
                       None if d["channel"] == ALL_CHANNELS else Channel(d["channel"]), Reason(d["reason"]),
                       d.get("note", ""), d.get("source", ""), d.get("campaign", ""), _utc(d.get("expire_time")),
                       _utc(d.get("create_time")), _utc(d.get("update_time") or d.get("create_time")),
                       d.get("version") or 1)


def _condition(c: Condition) -> dict[str, Any]:
    op = _OPERATORS[c.op]
    if c.field == "channel":
        return {"channel": {op: _channel_value(c.value)}}
    if c.field == "reason":
        return {"reason": {op: c.value.value}}
    if c.field == "source":
        return {"source": {op: c.value}}
    if c.field == "create_time":
        return {"create_time": {op: c.value}}
    # email, phone, profile: the subject of that kind ("!=": any entry but that one)
    if c.op == "=":
        return {"subject_kind": c.field, "subject": c.value}
    return {"$or": [{"subject_kind": {"$ne": c.field}}, {"subject": {"$ne": c.value}}]}


def query_of(workspace: str, conditions: Iterable[Condition]) -> dict[str, Any]:
    """The database query for a workspace's entries that meet every condition."""
    parts = [_condition(c) for c in conditions]
    return {"$and": [{"workspace": workspace}, *parts]} if parts else {"workspace": workspace}


class SuppressionStore:
    def __init__(self, database: Database):
        self.suppressions = database[SUPPRESSIONS]

    def ensure_indexes(self) -> None:
        self.suppressions.create_index([("workspace", ASCENDING), ("suppression_id", ASCENDING)], unique=True,
                                       name="suppression_key")
        self.suppressions.create_index([("workspace", ASCENDING), ("subject_kind", ASCENDING),
                                        ("subject", ASCENDING), ("channel", ASCENDING)], unique=True,
                                       name="suppression_subject")
        # Entries stored before versions existed get version 1, so that the
        # version-guarded writes find them (an update of many: no chunking needed).
        self.suppressions.update_many({"version": {"$exists": False}}, {"$set": {"version": 1}})

    # -- one entry ------------------------------------------------------------------------------------------

    def add(self, suppression: Suppression) -> None:
        """Stores a new entry; AlreadyExists naming the entry the subject already has on that channel."""
        try:
            self.suppressions.insert_one(_to_document(suppression))
        except DuplicateKeyError:
            existing = self.find(suppression.workspace, suppression.key)
            label = subject_label(suppression.subject_kind, suppression.subject, suppression.channel)
            if existing is None:  # the id itself was taken
                raise AlreadyExists(f"{suppression.name} already exists") from None
            raise AlreadyExists(f"{label} is already suppressed by {existing.name}",
                                metadata={"existing": existing.name}) from None

    def get(self, workspace: str, suppression_id: str) -> Suppression | None:
        doc = self.suppressions.find_one({"workspace": workspace, "suppression_id": suppression_id}, {"_id": 0})
        return _from_document(doc) if doc else None

    def find(self, workspace: str, key: Key) -> Suppression | None:
        """The entry of a (subject kind, subject, channel), if any."""
        kind, subject, channel = key
        doc = self.suppressions.find_one({"workspace": workspace, "subject_kind": kind, "subject": subject,
                                          "channel": _channel_value(channel)}, {"_id": 0})
        return _from_document(doc) if doc else None

    def save(self, suppression: Suppression, expected_version: int) -> None:
        """Replaces an entry; Aborted if someone else changed (or removed) it since it was read."""
        result = self.suppressions.replace_one(
            {"workspace": suppression.workspace, "suppression_id": suppression.suppression_id,
             "version": expected_version}, _to_document(suppression))
        if result.matched_count != 1:
            raise Aborted(f"{suppression.name} was changed by another request; read it again and retry")

    def remove(self, workspace: str, suppression_id: str, version: int | None = None) -> bool:
        query: dict[str, Any] = {"workspace": workspace, "suppression_id": suppression_id}
        if version is not None:
            query["version"] = version
        return self.suppressions.delete_one(query).deleted_count == 1

    # -- many entries ---------------------------------------------------------------------------------------

    def find_many(self, workspace: str, keys: Iterable[Key]) -> dict[Key, Suppression]:
        """The entries of these keys, in one query (by subject, then narrowed here)."""
        wanted = set(keys)
        if not wanted:
            return {}
        subjects = sorted({subject for _, subject, _ in wanted})
        cursor = self.suppressions.find({"workspace": workspace, "subject": {"$in": subjects}}, {"_id": 0})
        found = (_from_document(d) for d in cursor)
        return {s.key: s for s in found if s.key in wanted}

    def save_many(self, added: list[Suppression], replaced: list[tuple[Suppression, int]]) -> set[Key]:
        """Inserts `added` and replaces each (entry, expected version) of `replaced`,
        in bulk writes of at most BULK_CHUNK operations; returns the keys that
        met another writer (an insert that found the key taken, a replace that
        found another version). The others are stored."""
        operations: list[tuple[Key, Any]] = [(s.key, InsertOne(_to_document(s))) for s in added]
        operations += [(s.key, ReplaceOne({"workspace": s.workspace, "suppression_id": s.suppression_id,
                                           "version": expected}, _to_document(s)))
                       for s, expected in replaced]
        conflicts: set[Key] = set()
        for start in range(0, len(operations), BULK_CHUNK):
            chunk = operations[start:start + BULK_CHUNK]
            try:
                self.suppressions.bulk_write([op for _, op in chunk], ordered=False)
            except BulkWriteError as error:
                for failure in error.details.get("writeErrors", []):
                    conflicts.add(chunk[failure["index"]][0])
        # Read back the replaced entries rather than trust matched counts (nx-27017
        # reports them wrongly): one another writer beat carries another version.
        if replaced:
            workspace = replaced[0][0].workspace
            stored = self.find_many(workspace, [s.key for s, _ in replaced])
            conflicts |= {s.key for s, _ in replaced
                          if s.key not in stored or stored[s.key].suppression_id != s.suppression_id
                          or stored[s.key].version != s.version}
        return conflicts

    def list(self, workspace: str, conditions: tuple[Condition, ...], before: str, limit: int) -> list[Suppression]:
        """Entries meeting the conditions, newest first (ids are time-ordered), strictly before `before`."""
        query = query_of(workspace, conditions)
        if before:
            query = {"$and": [query, {"suppression_id": {"$lt": before}}]}
        cursor = self.suppressions.find(query, {"_id": 0}).sort("suppression_id", DESCENDING).limit(limit)
        return [_from_document(d) for d in cursor]

    def stream(self, workspace: str, conditions: tuple[Condition, ...], batch: int) -> Iterator[Suppression]:
        """Every entry meeting the conditions, oldest first, read in batches from one cursor."""
        cursor = self.suppressions.find(query_of(workspace, conditions), {"_id": 0}) \
            .sort("suppression_id", ASCENDING).batch_size(batch)
        for doc in cursor:
            yield _from_document(doc)

    def naming(self, workspace: str, channel: Channel, external_ids: Iterable[str], emails: Iterable[str],
               phones: Iterable[str]) -> list[Suppression]:
        """Entries on `channel` or every channel naming any of these profiles or
        addresses, in one query (expired ones included; the caller decides)."""
        subjects = {"profile": sorted(set(external_ids)), "email": sorted({e for e in emails if e}),
                    "phone": sorted({p for p in phones if p})}
        alternatives = [{"subject_kind": kind, "subject": {"$in": values}} for kind, values in subjects.items()
                        if values]
        if not alternatives:
            return []
        cursor = self.suppressions.find({"$and": [
            {"workspace": workspace, "channel": {"$in": [channel.value, ALL_CHANNELS]}},
            {"$or": alternatives}]}, {"_id": 0})
        return [_from_document(d) for d in cursor]

    def exclusion(self, workspace: str, channel: Channel, now: datetime) -> dict[str, Any]:
        """The condition a profile must meet not to be suppressed on `channel` now."""
        cursor = self.suppressions.find(
            {"workspace": workspace, "channel": {"$in": [channel.value, ALL_CHANNELS]}},
            {"_id": 0, "subject_kind": 1, "subject": 1, "expire_time": 1})
        subjects: dict[str, list[str]] = {kind: [] for kind in _SUBJECT_FIELD}
        for doc in cursor:
            expire = _utc(doc.get("expire_time"))
            if expire is not None and expire <= now:
                continue
            subjects[doc["subject_kind"]].append(doc["subject"])
        return {_SUBJECT_FIELD[kind]: {"$nin": values} for kind, values in subjects.items() if values}


def suppressions_about(store: SuppressionStore, workspace: str, external_id: str, email: str = "",
                       phone: str = "") -> list[Suppression]:
    """Every entry naming the profile, its email or its phone (an access request)."""
    alternatives = [{"subject_kind": "profile", "subject": external_id}]
    if email:
        alternatives.append({"subject_kind": "email", "subject": email})
    if phone:
        alternatives.append({"subject_kind": "phone", "subject": phone})
    cursor = store.suppressions.find({"$and": [{"workspace": workspace}, {"$or": alternatives}]}, {"_id": 0})
    return sorted((_from_document(d) for d in cursor), key=lambda s: s.suppression_id)


def forget_profile_entries(store: SuppressionStore, workspace: str, external_id: str) -> int:
    """Erasure: entries whose subject is the profile itself go (those naming an email or phone stay,
    so an address that asked not to be contacted is not contacted again)."""
    return store.suppressions.delete_many({"workspace": workspace, "subject_kind": "profile",
                                           "subject": external_id}).deleted_count
