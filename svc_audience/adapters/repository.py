"""The profile repository (svc_audience.service_layer.ports.ProfileRepository) over pymongo (any MongoDB-wire
server: nx-27017 embedded, FerretDB, MongoDB). Every query carries the workspace."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, InsertOne, ReplaceOne, UpdateMany
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists

from svc_audience.domain.model import Consent, ConsentStatus, DeviceToken, Profile
from svc_audience.service_layer.ports import ProfileRepository

PROFILES = "profiles"
STALE = "stale"  # document field: memberships not yet brought up to date
BULK_CHUNK = 90
META = "audience_meta"  # one-off markers, such as which document keys the profiles use
KEYED_BY_ID = "profiles_keyed_by_workspace_and_id"


def profile_key(workspace: str, external_id: str) -> str:
    """A profile document's _id. Workspaces have no "/" and external ids no
    "/" either, so it is unique, and within one workspace _id order is external
    id order. Lookups by _id need no second index (and nx-27017 finds by _id,
    and by `_id: {$in}`, with its primary index; other fields it scans for)."""
    return f"{workspace}/{external_id}"


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def behaviour_document(entry: dict[str, Any]) -> dict[str, Any]:
    """The newest times go in as fields n1, n2, ... rather than an array:
    nx-27017 cannot query an array element by position, and "at least N
    times since T" is the query `nth.nN >= T`."""
    return {"count": entry["count"], "last": entry["last"],
            "nth": {f"n{i}": t for i, t in enumerate(entry["recent"], start=1)}}


def behaviour_entry(doc: dict[str, Any]) -> dict[str, Any]:
    nth = doc.get("nth") or {}
    return {"count": doc["count"], "last": doc["last"],
            "recent": [nth[f"n{i}"] for i in range(1, len(nth) + 1)]}


def to_document(profile: Profile) -> dict[str, Any]:
    return {
        "_id": profile_key(profile.workspace, profile.external_id),
        "workspace": profile.workspace,
        "external_id": profile.external_id,
        "email": profile.email,
        "phone": profile.phone,
        "time_zone": profile.time_zone,
        "locale": profile.locale,
        "device_tokens": [{"token": d.token, "platform": d.platform, "app_id": d.app_id,
                           "last_seen_time": d.last_seen_time} for d in profile.device_tokens],
        # Native BSON types, so segment queries compare numbers as numbers and dates as dates.
        "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in profile.attributes.items()},
        "consents": {c.value: {"status": v.status.value, "update_time": v.update_time, "source": v.source}
                     for c, v in profile.consents.items()},
        "create_time": profile.create_time,
        "update_time": profile.update_time,
        "version": profile.version,
        "behaviour": {name: behaviour_document(entry) for name, entry in profile.behaviour.items()},
        "seen_events": list(profile.seen_events),
        "scores": profile.scores,
        "static_segments": list(profile.static_segments),
        # Every write marks the profile for segment upkeep, in the same atomic
        # write; the upkeep worker clears the mark once memberships follow.
        STALE: True,
    }


def from_document(doc: dict[str, Any]) -> Profile:
    return Profile(
        workspace=doc["workspace"],
        external_id=doc["external_id"],
        email=doc.get("email", ""),
        phone=doc.get("phone", ""),
        time_zone=doc.get("time_zone", ""),
        locale=doc.get("locale", ""),
        device_tokens=tuple(DeviceToken(d["token"], d.get("platform", ""), d.get("app_id", ""),
                                        _utc(d.get("last_seen_time"))) for d in doc.get("device_tokens", [])),
        attributes={k: tuple(v) if isinstance(v, list) else _utc(v) if isinstance(v, datetime) else v
                    for k, v in doc.get("attributes", {}).items()},
        consents={Channel(c): Consent(ConsentStatus(v["status"]), _utc(v["update_time"]), v.get("source", ""))
                  for c, v in doc.get("consents", {}).items()},
        create_time=_utc(doc.get("create_time")),
        update_time=_utc(doc.get("update_time")),
        version=doc.get("version", 0),
        behaviour={name: behaviour_entry(entry) for name, entry in (doc.get("behaviour") or {}).items()},
        seen_events=tuple(doc.get("seen_events") or ()),
        scores=doc.get("scores") or {},
        static_segments=tuple(doc.get("static_segments") or ()),
    )


def ensure_indexes(database: Database) -> None:
    profiles = database[PROFILES]
    profiles.create_index([("workspace", ASCENDING), ("external_id", ASCENDING)], unique=True,
                          name="profile_key")
    profiles.create_index([("workspace", ASCENDING), ("email", ASCENDING)], name="profile_email")
    profiles.create_index([(STALE, ASCENDING)], name="profile_stale")
    key_legacy_profiles(database)


REKEYING = "profiles_rekeying"  # copies of profiles being moved to their key; emptied as each move ends


def key_legacy_profiles(database: Database) -> int:
    """Moves profiles stored before documents were keyed by profile_key() (they
    carry a generated _id) to their key; returns how many moved. Runs once per
    database: a marker in META says it is done. Each move is copy aside, delete,
    insert, drop the copy (the unique profile_key index forbids two documents
    of one profile at once), so a start after a crash finishes a cut move."""
    meta = database[META]
    if meta.find_one({"_id": KEYED_BY_ID}) is not None:
        return 0
    profiles, aside = database[PROFILES], database[REKEYING]

    def finish(copy: dict[str, Any]) -> None:
        old_id, copy["_id"] = copy["_id"], profile_key(copy["workspace"], copy["external_id"])
        profiles.delete_one({"_id": old_id})
        try:
            profiles.insert_one(copy)
        except DuplicateKeyError:
            pass  # already moved (a move cut short after its insert, or another instance)
        aside.delete_one({"_id": old_id})

    moved = 0
    for copy in list(aside.find({})):
        finish(copy)
        moved += 1
    legacy = [d["_id"] for d in profiles.find({}, {"_id": 1, "workspace": 1, "external_id": 1})
              if d["_id"] != profile_key(d["workspace"], d["external_id"])]
    for old_id in legacy:
        copy = profiles.find_one({"_id": old_id})
        if copy is None:
            continue
        try:
            aside.insert_one(copy)
        except DuplicateKeyError:
            pass
        finish(copy)
        moved += 1
    meta.replace_one({"_id": KEYED_BY_ID}, {"_id": KEYED_BY_ID, "moved": moved, "time": datetime.now(UTC)},
                     upsert=True)
    return moved


class MongoProfileRepository(ProfileRepository):
    def __init__(self, database: Database):
        self.profiles: Collection = database[PROFILES]

    def get(self, workspace: str, external_id: str) -> Profile | None:
        doc = self.profiles.find_one({"_id": profile_key(workspace, external_id)}, {"_id": 0})
        return from_document(doc) if doc else None

    def add(self, profile: Profile) -> None:
        try:
            self.profiles.insert_one(to_document(profile))
        except DuplicateKeyError:
            raise AlreadyExists(f"workspaces/{profile.workspace}/profiles/{profile.external_id} already exists") \
                from None

    def save(self, profile: Profile, expected_version: int) -> None:
        if expected_version == 0:
            try:
                self.add(profile)
            except AlreadyExists:
                raise Aborted(f"workspaces/{profile.workspace}/profiles/{profile.external_id} was created by "
                              "another request; read it again and retry") from None
            return
        # A whole-document replace guarded by the version: nx-27017 stores a
        # datetime given to $set as text, which would break date queries.
        result = self.profiles.replace_one(
            {"_id": profile_key(profile.workspace, profile.external_id), "version": expected_version},
            to_document(profile))
        if result.matched_count != 1:
            raise Aborted(f"workspaces/{profile.workspace}/profiles/{profile.external_id} was changed by another "
                          "request; read it again and retry")

    def get_many(self, workspace: str, external_ids: list[str]) -> dict[str, Profile]:
        keys = [profile_key(workspace, external_id) for external_id in external_ids]
        cursor = self.profiles.find({"_id": {"$in": keys}}, {"_id": 0})
        return {doc["external_id"]: from_document(doc) for doc in cursor}

    def save_many(self, changes: list[tuple[Profile, int]]) -> set[str]:
        """Bulk writes of at most BULK_CHUNK operations (FerretDB 1.24 never
        answers an update command in which 100 or more statements match):
        inserts for new profiles, version-guarded replaces for the rest."""
        conflicts: set[str] = set()
        for start in range(0, len(changes), BULK_CHUNK):
            conflicts |= self._save_chunk(changes[start:start + BULK_CHUNK])
        return conflicts

    def _save_chunk(self, changes: list[tuple[Profile, int]]) -> set[str]:
        operations = [
            InsertOne(to_document(p)) if expected == 0 else
            ReplaceOne({"_id": profile_key(p.workspace, p.external_id), "version": expected}, to_document(p))
            for p, expected in changes
        ]
        conflicts: set[str] = set()
        try:
            self.profiles.bulk_write(operations, ordered=False)
        except BulkWriteError as error:
            for failure in error.details.get("writeErrors", []):
                conflicts.add(changes[failure["index"]][0].external_id)
        # Read back what was written rather than trust matched counts (nx-27017
        # reports them wrongly): a replace another writer beat left other content.
        replaced = {p.external_id: p for p, expected in changes if expected != 0}
        if replaced:
            stored = self.get_many(changes[0][0].workspace, list(replaced))
            conflicts |= {i for i, p in replaced.items() if stored.get(i) != p}
        return conflicts

    def stale(self, limit: int) -> list[tuple[str, str, int]]:
        """(workspace, external id, version) of profiles whose memberships may lag."""
        cursor = self.profiles.find({STALE: True}, {"_id": 0, "workspace": 1, "external_id": 1, "version": 1})
        return [(d["workspace"], d["external_id"], d["version"]) for d in cursor.limit(limit)]

    def clear_stale(self, marks: list[tuple[str, str, int]]) -> None:
        """Clears the marks of profiles still at the version the pass read; a
        profile written since keeps its mark for the next pass."""
        by_version: dict[int, list[str]] = {}
        for w, i, v in marks:
            by_version.setdefault(v, []).append(profile_key(w, i))
        # One UpdateMany per version read rather than an UpdateOne per profile:
        # a quarter less work per profile on nx-27017 (FerretDB's limit of 99
        # matching statements per command concerns UpdateOne and ReplaceOne).
        operations = [UpdateMany({"_id": {"$in": keys}, "version": v}, {"$unset": {STALE: ""}})
                      for v, keys in by_version.items()]
        for start in range(0, len(operations), BULK_CHUNK):
            self.profiles.bulk_write(operations[start:start + BULK_CHUNK], ordered=False)

    def remove(self, workspace: str, external_id: str) -> bool:
        return self.profiles.delete_one({"_id": profile_key(workspace, external_id)}).deleted_count == 1

    def list(self, workspace: str, after: str, limit: int) -> list[Profile]:
        query: dict[str, Any] = {"workspace": workspace}
        if after:
            query["external_id"] = {"$gt": after}
        cursor = self.profiles.find(query, {"_id": 0}).sort("external_id", ASCENDING).limit(limit)
        return [from_document(doc) for doc in cursor]
