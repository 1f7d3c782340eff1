"""The audience service's background work: its event consumers and the
segment upkeep loop, each a thread started by bootstrap."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import event_schemas
from svc_kit.bus.port import Bus, Message
from svc_kit.channels import Channel
from svc_kit.errors import AlreadyExists, InvalidArgument
from svc_kit.events.spans import consume_span
from svc_kit.events.erasure import (PRIVACY_SCHEMA, PRIVACY_TOPIC, Erasure, confirmation_of,
                                    erasure_of)
from svc_kit.events.metered import metered

from svc_audience.adapters import events
from svc_audience.adapters.repository import MongoProfileRepository
from svc_audience.adapters.snapshot_store import SnapshotStore
from svc_audience.adapters.suppression_store import SuppressionStore
from svc_audience.domain.behaviour import EVENT_NAME, TrackedEvent
from svc_audience.domain.model import EXTERNAL_ID
from svc_audience.domain.suppression import Entry, Reason, refreshed, validated
from svc_audience.service_layer import profiles
from svc_audience.service_layer.suppressions import create_suppression
from svc_audience.service_layer.behaviour import record_events
from svc_audience.service_layer.erasures import record_confirmation
from svc_audience.service_layer.upkeep import SegmentUpkeep

log = logging.getLogger("svc_audience")
ERASURE_SUBSCRIPTION = "svc_audience-erasure"
CONFIRMATION_SUBSCRIPTION = "svc_audience-erasure-confirmations"
BEHAVIOUR_SUBSCRIPTION = "svc_audience-behaviour"
FEEDBACK_SUBSCRIPTION = "svc_audience-delivery-feedback"
NOTIFY_TOPIC = "persistent://public/default/marketing.notify.v1"
NOTIFY_SCHEMA = event_schemas.load("notify.v1")
BEHAVIOUR_BATCH = 500
IDLE_WAIT = (0.05, 1.0)  # the upkeep loop's pause when idle, growing from the first to the second


class ErasureConsumer:
    """Finishes every erasure the topic announces (the audience service's own
    included, should it have died between the event and the delete), then confirms its part of
    the erasure with profile_erasure_confirmed (service `audience`, through the outbox)."""

    def __init__(self, bus: Bus, repository: MongoProfileRepository, snapshots: SnapshotStore,
                 upkeep: SegmentUpkeep | None = None, confirm: Callable[[Erasure, dict], None] | None = None):
        self.consumer = metered(bus.consumer(events.TOPIC, ERASURE_SUBSCRIPTION, events.SCHEMA), ERASURE_SUBSCRIPTION)
        self.repository = repository
        self.snapshots = snapshots
        self.upkeep = upkeep
        self.confirm = confirm

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            message = self.consumer.receive(0.2)
            if message is None:
                continue
            try:
                with consume_span(events.TOPIC, ERASURE_SUBSCRIPTION, message):
                    erasure_ = erasure_of(message.value)
                    if erasure_ is not None:
                        counts = profiles.complete_erasure_counted(erasure_.workspace, erasure_.profile,
                                                                   self.repository, self.snapshots, self.upkeep)
                        if self.confirm is not None:
                            self.confirm(erasure_, counts)
            except Exception:  # noqa: BLE001 - retried through the bus
                log.exception("erasure of %s failed; it will be retried", message.key)
                self.consumer.nack(message)
                continue
            self.consumer.ack(message)


class ConfirmationConsumer:
    """Takes every service's profile_erasure_confirmed into the erasure requests (idempotent: a
    repeated confirmation changes nothing). The only writer of the requests after creation."""

    def __init__(self, bus: Bus, store):
        self.consumer = metered(bus.consumer(PRIVACY_TOPIC, CONFIRMATION_SUBSCRIPTION, PRIVACY_SCHEMA), CONFIRMATION_SUBSCRIPTION)
        self.store = store
        self.applied = 0

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            message = self.consumer.receive(0.2)
            if message is None:
                continue
            try:
                with consume_span(PRIVACY_TOPIC, CONFIRMATION_SUBSCRIPTION, message):
                    confirmation = confirmation_of(message.value)
                    if confirmation is not None:
                        record_confirmation(confirmation.workspace, confirmation.erasure_id, confirmation.service,
                                            confirmation.counts, confirmation.confirm_time, self.store)
                        self.applied += 1
            except Exception:  # noqa: BLE001 - retried through the bus
                log.exception("confirmation %s failed; it will be retried", message.value.get("event_id"))
                self.consumer.nack(message)
                continue
            self.consumer.ack(message)


def tracked_event(message: Message) -> TrackedEvent | None:
    """The event to count, or None for one that can never be counted."""
    value = message.value
    payload = value.get("payload") or {}
    prefix = f"workspaces/{value['workspace']}/profiles/"
    profile = payload.get("profile", "")
    external_id = profile[len(prefix):] if profile.startswith(prefix) else ""
    if value["event_type"] != events.EVENT_TRACKED or not EXTERNAL_ID.fullmatch(external_id) \
            or not EVENT_NAME.fullmatch(payload.get("name", "")):
        return None
    occurred = value["occurred_at"]
    return TrackedEvent(value["event_id"], value["workspace"], external_id, payload["name"],
                        int(occurred.timestamp() * 1000))


class BehaviourConsumer:
    """Counts tracked behaviour on profiles, in batches."""

    def __init__(self, bus: Bus, repository: MongoProfileRepository, clock: Callable):
        self.consumer = metered(bus.consumer(events.BEHAVIOUR_TOPIC, BEHAVIOUR_SUBSCRIPTION, events.BEHAVIOUR_SCHEMA), BEHAVIOUR_SUBSCRIPTION)
        self.repository = repository
        self.clock = clock
        self.applied = 0

    def _gather(self) -> list[Message]:
        first = self.consumer.receive(0.2)
        if first is None:
            return []
        batch = [first]
        deadline = time.monotonic() + 0.01
        while len(batch) < BEHAVIOUR_BATCH and time.monotonic() < deadline:
            more = self.consumer.receive(0)
            if more is None:
                break
            batch.append(more)
        return batch

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            batch = self._gather()
            if not batch:
                continue
            countable = []
            for message in batch:
                with consume_span(events.BEHAVIOUR_TOPIC, BEHAVIOUR_SUBSCRIPTION, message):  # the hop, per event
                    event = tracked_event(message)
                if event is None:
                    log.warning("ignoring tracked event %s: not an event_tracked of a valid profile and name",
                                message.value.get("event_id"))
                else:
                    countable.append(event)
            try:
                self.applied += record_events(countable, self.repository, self.clock)
            except Exception:  # noqa: BLE001 - the bus redelivers; profiles remember what they counted
                log.exception("counting %d tracked events failed; they will be retried", len(batch))
                for message in batch:
                    self.consumer.nack(message)
                continue
            for message in batch:
                self.consumer.ack(message)


class UpkeepLoop:
    """Runs segment upkeep: stale profiles first, then full recomputations,
    and asks for recomputation of time-windowed segments every `refresh_seconds`."""

    def __init__(self, upkeep: SegmentUpkeep, refresh_seconds: float):
        self.upkeep = upkeep
        self.refresh_seconds = refresh_seconds
        self.wake = threading.Event()

    def run(self, stop: threading.Event) -> None:
        idle = IDLE_WAIT[0]
        next_refresh = time.monotonic() + self.refresh_seconds
        while not stop.is_set():
            try:
                if time.monotonic() >= next_refresh:
                    self.upkeep.request_time_dependent()
                    next_refresh = time.monotonic() + self.refresh_seconds
                worked = self.upkeep.run_stale().profiles > 0
                worked |= bool(self.upkeep.run_requests().changes)
            except Exception:  # noqa: BLE001 - the marks stay; the next pass retries
                log.exception("segment upkeep pass failed; retrying")
                worked = False
                idle = IDLE_WAIT[1]
            if worked:
                idle = IDLE_WAIT[0]
                continue
            self.wake.wait(idle)
            self.wake.clear()
            idle = min(idle * 2, IDLE_WAIT[1])


def feedback_entry(value: dict) -> Entry | None:
    """The suppression a notify event asks for: a hard bounce suppresses the
    address on the message's channel (BOUNCED), a complaint too (COMPLAINED);
    None for every other event. An email or phone bounce names the address;
    anything else names the profile."""
    event_type = value.get("event_type")
    payload = value.get("payload") or {}
    if event_type == "message_bounced":
        if payload.get("bounce_type") != "HARD":
            return None
        reason, source = Reason.BOUNCED, "notify:bounce"
    elif event_type == "message_complained":
        reason, source = Reason.COMPLAINED, "notify:complaint"
    else:
        return None
    info = payload.get("message") or {}
    try:
        channel = Channel(info.get("channel", ""))
    except ValueError:
        return None
    address = payload.get("address", "")
    if channel is Channel.EMAIL and "@" in address:
        kind, subject = "email", address
    elif channel is Channel.SMS and address.startswith("+"):
        kind, subject = "phone", address
    else:
        kind, subject = "profile", info.get("recipient", "").rpartition("/profiles/")[2]
    campaign = info.get("campaign", "").rpartition("/campaigns/")[2]
    note = f"{payload.get('detail', '')} ({info.get('message', '')})".strip()[:1000]
    return Entry(kind, subject, channel, reason, note, source, campaign)


class DeliveryFeedbackConsumer:
    """Turns the notify service's hard bounces and complaints into suppression
    entries. Idempotent: a live entry for the address and channel is kept (an
    UNSUBSCRIBED one takes the stronger reason), so a redelivered event changes nothing."""

    def __init__(self, bus: Bus, suppressions: SuppressionStore, clock: Callable, new_id: Callable[[], str]):
        self.consumer = metered(bus.consumer(NOTIFY_TOPIC, FEEDBACK_SUBSCRIPTION, NOTIFY_SCHEMA), FEEDBACK_SUBSCRIPTION)
        self.suppressions = suppressions
        self.clock = clock
        self.new_id = new_id
        self.created = 0

    def handle(self, value: dict) -> bool:
        """Applies one event; True when it created or strengthened an entry."""
        entry = feedback_entry(value)
        if entry is None:
            return False
        workspace, now = value["workspace"], self.clock()
        try:
            entry = validated(entry, now)
        except InvalidArgument as error:
            log.warning("ignoring %s %s: %s", value.get("event_type"), value.get("event_id"), error.message)
            return False
        existing = self.suppressions.find(workspace, entry.key)
        if existing is not None and existing.active(now):
            if existing.reason is not Reason.UNSUBSCRIBED:
                return False
            self.suppressions.save(refreshed(existing, entry, now), existing.version)
            return True
        try:
            create_suppression(workspace, entry, self.suppressions, self.clock, self.new_id)
        except AlreadyExists:  # a concurrent delivery of the same feedback came first
            return False
        self.created += 1
        return True

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            message = self.consumer.receive(0.2)
            if message is None:
                continue
            try:
                with consume_span(NOTIFY_TOPIC, FEEDBACK_SUBSCRIPTION, message):
                    self.handle(message.value)
            except Exception:  # noqa: BLE001 - retried through the bus
                log.exception("suppressing after %s failed; it will be retried", message.value.get("event_id"))
                self.consumer.nack(message)
                continue
            self.consumer.ack(message)
