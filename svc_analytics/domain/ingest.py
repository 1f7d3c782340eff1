"""What an ingested event must satisfy: each event of an IngestEvents call is
checked on its own, so one bad event is refused (by its index, id, field and
reason) while the others are accepted. Ids are bare ids (the entrypoint turns
resource names into them); a campaign or profile nobody knows is accepted as
is (unattributed), since the store cannot tell and the events must not wait."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation, InvalidArgument

from svc_analytics.domain.model import SOURCE_API, StoredEvent

MAX_EVENTS_PER_CALL = 500
MAX_PROPERTIES_BYTES = 32 * 1024  # JSON-encoded, UTF-8
MAX_PROPERTIES = 100
MAX_FUTURE = timedelta(hours=24)
DEFAULT_RETENTION = timedelta(days=395)
MAX_SOURCE = 128

EVENT_ID = re.compile(r"[A-Za-z0-9._:~-]{1,128}")
EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")
PROFILE_ID = re.compile(r"[A-Za-z0-9._~@+-]{1,128}")  # a profile's external id (as audience allows)
RESOURCE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # campaign and message ids
VARIANT = re.compile(r"[A-Za-z0-9._-]{0,63}")
CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class DraftEvent:
    """An event as a caller sends it, before validation."""

    event_id: str = ""
    type: str = ""
    event_time: datetime | None = None
    profile: str = ""
    campaign: str = ""
    channel: Channel | None = None
    message: str = ""
    variant: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    value_micros: int = 0
    currency: str = ""
    source: str = ""  # who sent it (web-sdk, integration:shopify); "api" when empty


@dataclass(frozen=True)
class RejectedEvent:
    index: int  # position in the call, from 0
    event_id: str
    field: str  # the event's field, e.g. "event_time"
    reason: str

    @property
    def violation(self) -> FieldViolation:
        return FieldViolation(f"events[{self.index}].{self.field}", self.reason)


@dataclass(frozen=True)
class Checked:
    accepted: list[StoredEvent]
    rejected: list[RejectedEvent]


def check_count(count: int) -> None:
    """The whole call is refused beyond MAX_EVENTS_PER_CALL (or with no event)."""
    if count == 0:
        raise InvalidArgument(FieldViolation("events", "required: send at least one event"))
    if count > MAX_EVENTS_PER_CALL:
        raise InvalidArgument(FieldViolation(
            "events", f"at most {MAX_EVENTS_PER_CALL} events per call, got {count}; split them into several calls"))


def _properties_size(properties: dict[str, Any]) -> int | None:
    """The JSON size in bytes, or None when the properties are not JSON-able."""
    try:
        return len(json.dumps(properties, separators=(",", ":"), ensure_ascii=False).encode())
    except (TypeError, ValueError):
        return None


def event_violation(draft: DraftEvent, now: datetime, retention: timedelta) -> tuple[str, str] | None:
    """The first (field, reason) the event breaks, or None when it is valid."""
    if not draft.event_id:
        return "event_id", "required: a producer-chosen unique id"
    if not EVENT_ID.fullmatch(draft.event_id):
        return "event_id", "must be 1-128 characters [A-Za-z0-9._:~-]"
    if not draft.type:
        return "type", "required: the event type, e.g. purchase"
    if not EVENT_TYPE.fullmatch(draft.type):
        return "type", "must be 1-64 characters [a-z][a-z0-9_]* (snake_case)"
    if draft.event_time is None:
        return "event_time", "required: when the event happened"
    if draft.event_time.tzinfo is None:
        return "event_time", "must carry a time zone (UTC)"
    if draft.event_time > now + MAX_FUTURE:
        return "event_time", f"more than {_hours(MAX_FUTURE)} hours in the future (now {now.isoformat()})"
    if draft.event_time < now - retention:
        return "event_time", (f"older than the workspace's retention of {retention.days} days: it would be "
                              "deleted at once")
    if draft.profile and not PROFILE_ID.fullmatch(draft.profile):
        return "profile", "malformed profile id: 1-128 characters [A-Za-z0-9._~@+-]"
    if draft.campaign and not RESOURCE_ID.fullmatch(draft.campaign):
        return "campaign", "malformed campaign id: 1-63 characters [a-z0-9][a-z0-9-]*"
    if draft.message and not RESOURCE_ID.fullmatch(draft.message):
        return "message", "malformed message id: 1-63 characters [a-z0-9][a-z0-9-]*"
    if not VARIANT.fullmatch(draft.variant):
        return "variant", "at most 63 characters [A-Za-z0-9._-]"
    if len(draft.source) > MAX_SOURCE:
        return "source", f"at most {MAX_SOURCE} characters"
    if len(draft.properties) > MAX_PROPERTIES:
        return "properties", f"at most {MAX_PROPERTIES} properties, got {len(draft.properties)}"
    size = _properties_size(draft.properties)
    if size is None:
        return "properties", "must be JSON values (strings, numbers, booleans, lists, objects)"
    if size > MAX_PROPERTIES_BYTES:
        return "properties", f"at most {MAX_PROPERTIES_BYTES} bytes as JSON, got {size}"
    if draft.currency and not CURRENCY.fullmatch(draft.currency):
        return "value.currency_code", "must be an ISO 4217 code of three capital letters, e.g. EUR"
    if draft.value_micros and not draft.currency:
        return "value.currency_code", "required with a value: its ISO 4217 currency, e.g. EUR"
    return None


def _hours(delta: timedelta) -> int:
    return int(delta.total_seconds() // 3600)


def to_stored(workspace: str, draft: DraftEvent, receive_time: datetime) -> StoredEvent:
    return StoredEvent(
        workspace=workspace, event_id=draft.event_id, type=draft.type, event_time=draft.event_time,
        receive_time=receive_time, source=draft.source or SOURCE_API, profile=draft.profile, campaign=draft.campaign,
        channel=draft.channel, message=draft.message, variant=draft.variant,
        value_micros=draft.value_micros, currency=draft.currency if draft.value_micros or draft.currency else "",
        properties=dict(draft.properties))


def check_events(workspace: str, drafts: list[DraftEvent], now: datetime,
                 retention: timedelta = DEFAULT_RETENTION) -> Checked:
    """Every event checked on its own: the valid ones as they will be stored, the others refused."""
    check_count(len(drafts))
    accepted, rejected = [], []
    for index, draft in enumerate(drafts):
        violation = event_violation(draft, now, retention)
        if violation is None:
            accepted.append(to_stored(workspace, draft, now))
        else:
            rejected.append(RejectedEvent(index, draft.event_id, *violation))
    return Checked(accepted, rejected)
