"""Erasure requests (collection `erasure_requests`): one document per `profile_erased`, keyed
`<workspace>/<erasure id>` (the event id), with each service's confirmation as it arrives from
`profile_erasure_confirmed` (marketing.privacy.v1). The confirmations consumer is the only writer
after creation, one event at a time, so a read-modify-write needs no transaction (which the
MongoDB-wire servers the service runs on do not give); a repeated confirmation changes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from svc_audience.domain.erasure import ErasureRequest, ServiceConfirmation

COLLECTION = "erasure_requests"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # nx-27017 gives back a time set inside an update as text
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _from_document(d: Mapping) -> ErasureRequest:
    return ErasureRequest(
        workspace=d["workspace"], erasure_id=d["erasure_id"], profile=d["profile"],
        create_time=_utc(d["create_time"]), services=tuple(d["services"]),
        confirmations={s: ServiceConfirmation(s, _utc(c["confirm_time"]), dict(c.get("counts") or {}))
                       for s, c in (d.get("confirmations") or {}).items()},
        complete_time=_utc(d.get("complete_time")))


class ErasureStore:
    def __init__(self, database: Database):
        self.requests = database[COLLECTION]

    def ensure_indexes(self) -> None:
        self.requests.create_index([("workspace", ASCENDING), ("erasure_id", DESCENDING)], name="erasure_list")

    def create(self, request: ErasureRequest) -> None:
        """Idempotent: an erasure already recorded is left as it is."""
        key = f"{request.workspace}/{request.erasure_id}"
        if self.requests.find_one({"_id": key}, {"_id": 1}) is not None:
            return
        self.requests.insert_one({
            "_id": key, "workspace": request.workspace, "erasure_id": request.erasure_id,
            "profile": request.profile, "create_time": request.create_time, "services": list(request.services),
            "confirmations": {}, "complete_time": None})

    def get(self, workspace: str, erasure_id: str) -> ErasureRequest | None:
        doc = self.requests.find_one({"_id": f"{workspace}/{erasure_id}"})
        return _from_document(doc) if doc is not None else None

    def list(self, workspace: str, before: str, limit: int) -> list[ErasureRequest]:
        """Newest first (erasure ids grow with time), strictly before `before` when set."""
        query: dict = {"workspace": workspace}
        if before:
            query["erasure_id"] = {"$lt": before}
        cursor = self.requests.find(query).sort("erasure_id", DESCENDING).limit(limit)
        return [_from_document(d) for d in cursor]

    def save(self, request: ErasureRequest) -> None:
        self.requests.update_one({"_id": f"{request.workspace}/{request.erasure_id}"}, {"$set": {
            "confirmations": {s: {"confirm_time": c.confirm_time, "counts": dict(c.counts)}
                              for s, c in request.confirmations.items()},
            "complete_time": request.complete_time}})

    def for_profile(self, workspace: str, profile: str) -> Sequence[ErasureRequest]:
        return [_from_document(d) for d in self.requests.find({"workspace": workspace, "profile": profile})]
