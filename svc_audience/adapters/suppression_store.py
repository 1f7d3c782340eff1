"""Suppressions on the MongoDB-wire database, and the part of a member query
that leaves suppressed people out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from svc_kit.channels import Channel
from svc_kit.errors import AlreadyExists

from svc_audience.domain.suppression import Reason, Suppression

SUPPRESSIONS = "suppressions"
ALL_CHANNELS = "ALL"
_SUBJECT_FIELD = {"email": "email", "phone": "phone", "profile": "external_id"}


def _to_document(s: Suppression) -> dict[str, Any]:
    return {"workspace": s.workspace, "suppression_id": s.suppression_id, "subject_kind": s.subject_kind,
            "subject": s.subject, "channel": s.channel.value if s.channel else ALL_CHANNELS,
            "reason": s.reason.value, "note": s.note, "source": s.source, "campaign": s.campaign,
            "expire_time": s.expire_time, "create_time": s.create_time}


def _from_document(d: dict[str, Any]) -> Suppression:
    utc = lambda v: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v  # noqa: E731
    return Suppression(d["workspace"], d["suppression_id"], d["subject_kind"], d["subject"],
                       None if d["channel"] == ALL_CHANNELS else Channel(d["channel"]), Reason(d["reason"]),
                       d.get("note", ""), d.get("source", ""), d.get("campaign", ""), utc(d.get("expire_time")),
                       utc(d.get("create_time")))


class SuppressionStore:
    def __init__(self, database: Database):
        self.suppressions = database[SUPPRESSIONS]

    def ensure_indexes(self) -> None:
        self.suppressions.create_index([("workspace", ASCENDING), ("suppression_id", ASCENDING)], unique=True,
                                       name="suppression_key")
        self.suppressions.create_index([("workspace", ASCENDING), ("subject_kind", ASCENDING),
                                        ("subject", ASCENDING), ("channel", ASCENDING)], unique=True,
                                       name="suppression_subject")

    def add(self, suppression: Suppression) -> None:
        try:
            self.suppressions.insert_one(_to_document(suppression))
        except DuplicateKeyError:
            raise AlreadyExists(f"{suppression.subject_kind} {suppression.subject} is already suppressed on "
                                f"{suppression.channel.value if suppression.channel else 'every channel'}") from None

    def get(self, workspace: str, suppression_id: str) -> Suppression | None:
        doc = self.suppressions.find_one({"workspace": workspace, "suppression_id": suppression_id}, {"_id": 0})
        return _from_document(doc) if doc else None

    def list(self, workspace: str, after: str, limit: int) -> list[Suppression]:
        query: dict[str, Any] = {"workspace": workspace}
        if after:
            query["suppression_id"] = {"$gt": after}
        cursor = self.suppressions.find(query, {"_id": 0}).sort("suppression_id", ASCENDING).limit(limit)
        return [_from_document(d) for d in cursor]

    def remove(self, workspace: str, suppression_id: str) -> bool:
        return self.suppressions.delete_one({"workspace": workspace,
                                             "suppression_id": suppression_id}).deleted_count == 1

    def exclusion(self, workspace: str, channel: Channel, now: datetime) -> dict[str, Any]:
        """The condition a profile must meet not to be suppressed on `channel` now."""
        cursor = self.suppressions.find(
            {"workspace": workspace, "channel": {"$in": [channel.value, ALL_CHANNELS]}},
            {"_id": 0, "subject_kind": 1, "subject": 1, "expire_time": 1})
        subjects: dict[str, list[str]] = {kind: [] for kind in _SUBJECT_FIELD}
        for doc in cursor:
            expire = doc.get("expire_time")
            if expire is not None and (expire if expire.tzinfo else expire.replace(tzinfo=UTC)) <= now:
                continue
            subjects[doc["subject_kind"]].append(doc["subject"])
        return {_SUBJECT_FIELD[kind]: {"$nin": values} for kind, values in subjects.items() if values}
