"""Privacy across services: every service that holds data about a profile consumes
`profile_erased` (marketing.audience.v1) through its inbox, erases or anonymises what it holds in
the same transaction, and writes a `profile_erasure_confirmed` (marketing.privacy.v1,
event_schemas/privacy.v1.avsc) to its outbox in that transaction too, so the confirmation goes out
exactly when the erasure is committed, and a redelivered `profile_erased` changes nothing twice.

The audience service consumes the confirmations into its erasure requests."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table

import event_schemas
from svc_kit.bus.port import Bus, Message
from svc_kit.clock import utcnow
from svc_kit.events.entry import OutboxEntry
from svc_kit.events.inbox import InboxConsumer
from svc_kit.events.outbox import Outbox
from svc_kit.ids import new_id
from svc_kit.trace_context import current_trace_headers

log = logging.getLogger("svc_kit.erasure")
PROFILE_TOPIC = "persistent://public/default/marketing.audience.v1"
PROFILE_SCHEMA = event_schemas.load("audience.v1")
PRIVACY_TOPIC = "persistent://public/default/marketing.privacy.v1"
PRIVACY_SCHEMA = event_schemas.load("privacy.v1")
ERASED = "profile_erased"
CONFIRMED = "profile_erasure_confirmed"
# Every service that holds personal data, in the order an erasure request shows them.
SERVICES = ("audience", "notify", "content", "campaign", "analytics")
SCHEMAS = {PRIVACY_TOPIC: PRIVACY_SCHEMA}

# erase(connection, workspace, profile external id) -> records erased or anonymised, by kind
Erase = Callable[[Connection, str, str], Mapping[str, int]]


@dataclass(frozen=True)
class Erasure:
    erasure_id: str  # the profile_erased event's id
    workspace: str
    profile: str  # external id

    @property
    def profile_name(self) -> str:
        return f"workspaces/{self.workspace}/profiles/{self.profile}"


def erasure_of(value: Mapping[str, Any]) -> Erasure | None:
    """The erasure a marketing.audience.v1 event asks for, or None for another event type."""
    if value.get("event_type") != ERASED:
        return None
    payload = value.get("payload") or {}
    prefix = f"workspaces/{value['workspace']}/profiles/"
    profile = payload.get("profile", "")
    external_id = profile[len(prefix):] if profile.startswith(prefix) else value["aggregate_id"]
    return Erasure(value["event_id"], value["workspace"], external_id)


def confirmation_entry(erasure: Erasure, service: str, counts: Mapping[str, int],
                       now: datetime | None = None) -> OutboxEntry:
    trace = current_trace_headers()
    record = {
        "event_id": new_id(), "event_type": CONFIRMED, "workspace": erasure.workspace,
        "aggregate_id": erasure.erasure_id, "aggregate_version": 0, "occurred_at": now or utcnow(),
        "producer": f"svc_{service}", "traceparent": trace.get("traceparent"),
        "tracestate": trace.get("tracestate"),
        "payload": ("marketing.privacy.v1.ProfileErasureConfirmed", {
            "profile": erasure.profile_name, "erasure": erasure.erasure_id, "service": service,
            "counts": {str(k): int(v) for k, v in counts.items()}}),
    }
    return OutboxEntry(record["event_id"], PRIVACY_TOPIC, erasure.erasure_id, record,
                       {**trace, "event_type": CONFIRMED, "workspace": erasure.workspace})


@dataclass(frozen=True)
class Confirmation:
    erasure_id: str
    workspace: str
    profile: str  # resource name
    service: str
    counts: Mapping[str, int]
    confirm_time: datetime


def confirmation_of(value: Mapping[str, Any]) -> Confirmation | None:
    if value.get("event_type") != CONFIRMED:
        return None
    payload = value.get("payload") or {}
    return Confirmation(payload.get("erasure") or value["aggregate_id"], value["workspace"],
                        payload.get("profile", ""), payload.get("service", ""), dict(payload.get("counts") or {}),
                        value["occurred_at"])


class ErasureConsumer(InboxConsumer):
    """Consumes profile_erased: runs `erase` and writes the confirmation, both inside the
    transaction that records the event id in the inbox. Other event types of the topic are
    recorded and skipped."""

    def __init__(self, bus: Bus, engine: Engine, inbox: Table, outbox: Outbox, subscription: str, service: str,
                 erase: Erase, on_confirmed: Callable[[], None] | None = None):
        self.service = service
        self.erase = erase
        self.outbox = outbox
        self.on_confirmed = on_confirmed
        self.erased = 0
        super().__init__(bus, engine, inbox, PROFILE_TOPIC, subscription, PROFILE_SCHEMA, self._handle)

    def _handle(self, connection: Connection, value: Mapping[str, Any], message: Message) -> None:
        erasure = erasure_of(value)
        if erasure is None:
            return
        counts = self.erase(connection, erasure.workspace, erasure.profile)
        self.outbox.write(connection, [confirmation_entry(erasure, self.service, counts)])
        self.erased += 1

    def handle(self, message: Message) -> None:
        super().handle(message)
        if self.on_confirmed is not None:
            self.on_confirmed()

    def handle_batch(self, messages: list[Message]) -> None:
        super().handle_batch(messages)
        if self.on_confirmed is not None:
            self.on_confirmed()

    def run(self, stop) -> None:
        while not stop.is_set():
            try:
                self.poll(0.2)
            except Exception:  # noqa: BLE001 - a bus hiccup: the messages come back
                log.exception("%s: receiving failed; retrying", self.subscription)
                stop.wait(0.5)


def json_record(row: Mapping[str, Any], leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """A database row as JSON for an access export: times in RFC 3339, bytes left out."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in leave_out or isinstance(value, (bytes, bytearray, memoryview)):
            continue
        if isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        out[_camel(key)] = value
    return out


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)
