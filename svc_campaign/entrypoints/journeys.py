"""The journeys' runtime threads: three consumers (tracked events, segment changes, notify's message events),
each event applied once (the inbox) in the transaction of its changes, and the timer worker that sets and fires
date triggers' timers (from audience's profiles), runs due entries (service_layer/journeys.py) and hands their
sends to notify, attribute updates to audience and webhook calls to integrations."""

from __future__ import annotations

import asyncio
import logging
import threading

from sqlalchemy import Engine

import event_schemas
from svc_kit.bus.port import Bus
from svc_kit.clock import utcnow
from svc_kit.events.inbox import InboxConsumer
from svc_kit.ids import new_id

from svc_campaign.adapters.journey_store import SqlJourneys, SqlJourneyStore
from svc_campaign.adapters.metrics import JourneyMetrics
from svc_campaign.adapters.tables import campaign_inbox
from svc_campaign.service_layer import journeys
from svc_campaign.service_layer.journey_ports import JourneyNotifyPort

log = logging.getLogger("svc_campaign.journeys")
BEHAVIOUR_TOPIC = "persistent://public/default/marketing.behaviour.v1"
SEGMENT_TOPIC = "persistent://public/default/marketing.audience.segments.v1"
NOTIFY_TOPIC = "persistent://public/default/marketing.notify.v1"
SEED_EVERY = 5.0  # seconds between looks for date-triggered journeys whose timers need setting
SUBSCRIPTIONS = ("svc_campaign-journeys-behaviour", "svc_campaign-journeys-segments", "svc_campaign-journeys-notify")


def _id() -> str:
    return new_id().lower()


def journey_consumers(bus: Bus, engine: Engine, wake: threading.Event,
                      signals: journeys.JourneySignals | None = None) -> list[InboxConsumer]:
    signals = signals or JourneyMetrics()

    def counted(outcome: journeys.Outcome) -> None:
        signals.entered(outcome.entered)
        signals.refused(outcome.refused)
        signals.ended("goal", outcome.goal)
        if outcome.moved:
            wake.set()

    def tracked(connection, event, message) -> None:
        if event["event_type"] != "event_tracked":
            return
        p = event["payload"]
        counted(journeys.on_tracked(SqlJourneyStore(connection), event["workspace"], p["profile"], p["name"],
                                    dict(p.get("properties") or {}), event["event_id"], utcnow(), _id))

    def segment(connection, event, message) -> None:
        if event["event_type"] != "segment_updated":
            return
        p = event["payload"]
        counted(journeys.on_segment_change(SqlJourneyStore(connection), event["workspace"], p["segment"],
                                           list(p["added"]), list(p["removed"]), event["event_id"], utcnow(), _id))

    def message(connection, event, message) -> None:
        if event["event_type"] not in journeys.MESSAGE_EVENTS:
            return
        p = event["payload"]
        info = p["message"]
        if not info.get("idempotency_key", "").startswith("journeys/"):
            return
        reason = p.get("reason") or ""
        outcome = journeys.on_message_event(SqlJourneyStore(connection), event["workspace"], event["event_type"],
                                            info["idempotency_key"], reason, utcnow())
        if outcome is not None:
            counted(outcome)

    return [InboxConsumer(bus, engine, campaign_inbox, BEHAVIOUR_TOPIC, SUBSCRIPTIONS[0],
                          event_schemas.load("behaviour.v1"), tracked),
            InboxConsumer(bus, engine, campaign_inbox, SEGMENT_TOPIC, SUBSCRIPTIONS[1],
                          event_schemas.load("segment.v1"), segment),
            InboxConsumer(bus, engine, campaign_inbox, NOTIFY_TOPIC, SUBSCRIPTIONS[2],
                          event_schemas.load("notify.v1"), message)]


class JourneyWorker:
    """Fires due timers: a pass every `poll` seconds (well within a second of their time), at once when a
    consumer made an entry due now (`wake`). Replicas on PostgreSQL share the work (the claim skips locked
    rows)."""

    def __init__(self, engine: Engine, notify_factory, poll: float = 0.25,
                 signals: journeys.JourneySignals | None = None, audience_factory=None, integrations_factory=None):
        self.tx = SqlJourneys(engine)
        self.notify_factory = notify_factory  # () -> JourneyNotifyPort, made on the worker's loop
        self.audience_factory = audience_factory  # () -> JourneyAudiencePort (update_attribute steps), or None
        self.integrations_factory = integrations_factory  # () -> JourneyIntegrationsPort (call_webhook), or None
        self.poll = poll
        self.signals = signals or JourneyMetrics()
        self.wake = threading.Event()

    def run(self, stop: threading.Event) -> None:
        asyncio.run(self._run(stop))

    async def _run(self, stop: threading.Event) -> None:
        notify: JourneyNotifyPort = self.notify_factory()
        audience = self.audience_factory() if self.audience_factory is not None else None
        integrations = self.integrations_factory() if self.integrations_factory is not None else None
        loop = asyncio.get_running_loop()
        seeding = asyncio.create_task(self._seed(stop, audience)) if audience is not None else None
        try:
            await self._timers(stop, loop, notify, audience, integrations)
        finally:
            if seeding is not None:
                seeding.cancel()

    async def _seed(self, stop: threading.Event, audience) -> None:
        """Sets date-triggered journeys' timers (a long read of a big workspace's profiles) beside the timers:
        each audience page awaited lets the timer passes run."""
        while not stop.is_set():
            try:
                await journeys.seed_date_timers(self.tx, audience, utcnow, _id)
            except Exception:  # noqa: BLE001 - tried again on a later pass
                log.exception("setting journeys' date timers failed; retrying")
            await asyncio.sleep(SEED_EVERY)

    async def _timers(self, stop: threading.Event, loop, notify, audience, integrations) -> None:
        while not stop.is_set():
            if audience is not None:
                try:
                    fired = await journeys.run_date_timers(self.tx, audience, utcnow, _id)
                    self.signals.entered(fired.entered)
                    self.signals.refused(fired.refused)
                except Exception:  # noqa: BLE001 - claimed timers come due again after their lease
                    log.exception("journey date timer pass failed; retrying")
            try:
                claimed = await journeys.run_due(self.tx, notify, utcnow, signals=self.signals,
                                                 audience=audience, integrations=integrations)
            except Exception:  # noqa: BLE001 - claimed entries come due again after their lease
                log.exception("journey timer pass failed; retrying")
                claimed = 0
            if claimed < journeys.CLAIM_BATCH:
                await loop.run_in_executor(None, self.wake.wait, self.poll)
                self.wake.clear()
