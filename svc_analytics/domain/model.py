"""What the analytics service stores and reports: one row per event, whatever its
source (the notify service's delivery events, campaign lifecycle events,
behaviour events ingested from sites and apps), and the metric groups a
campaign report is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from svc_kit.channels import Channel

# Where an event came from.
SOURCE_NOTIFY = "notify"  # marketing.notify.v1 delivery and engagement events
SOURCE_CAMPAIGN = "campaign"  # marketing.campaign.v1 lifecycle events
SOURCE_API = "api"  # IngestEvents (sites, apps, server-side calls)

# Delivery and engagement event types (the notify service's event_type values, and the
# audience service's unsubscribe), counted by a campaign report.
QUEUED = "message_queued"
SENT = "message_sent"
DELIVERED = "message_delivered"
FAILED = "message_failed"
SUPPRESSED = "message_suppressed"
BOUNCED = "message_bounced"
COMPLAINED = "message_complained"
OPENED = "message_opened"
CLICKED = "message_clicked"
UNSUBSCRIBED = "message_unsubscribed"
CANCELLED = "message_cancelled"  # not sent: its campaign was cancelled first (stored; not in a report's figures yet)
MESSAGE_TYPES = (QUEUED, SENT, DELIVERED, FAILED, SUPPRESSED, BOUNCED, COMPLAINED, OPENED, CLICKED, UNSUBSCRIBED,
                 CANCELLED)

DEFAULT_GOAL = "purchase"  # the conversion event type unless a report asks for another
DEFAULT_ATTRIBUTION_WINDOW = timedelta(days=5)


@dataclass(frozen=True)
class StoredEvent:
    """One event as stored. Ids are bare ids, not resource names: `profile` is the
    profile's external id, `campaign` the campaign id, `message` the message id
    ("" when the event has none). A conversion carries the campaign, message,
    channel and variant of the click it is attributed to, with `attributed` set."""

    workspace: str
    event_id: str
    type: str
    event_time: datetime  # aware, UTC
    receive_time: datetime  # aware, UTC
    source: str = SOURCE_API
    profile: str = ""
    campaign: str = ""
    channel: Channel | None = None
    message: str = ""
    variant: str = ""
    provider: str = ""
    machine: bool = False  # an open or click made by a machine (privacy proxy, link scanner), not a person
    attributed: bool = False  # campaign/message/channel/variant come from attribution, not from the event itself
    value_micros: int = 0  # the event's value (a purchase's amount) in millionths of `currency`
    currency: str = ""  # ISO 4217, "" when the event has no value
    properties: dict[str, Any] = field(default_factory=dict)  # JSON-able


@dataclass(frozen=True)
class MetricRow:
    """Counts of one event type for one (channel, variant, provider) of a campaign over an interval.
    Counts are of distinct event ids, so an event stored twice counts once."""

    type: str
    channel: Channel | None
    variant: str
    provider: str
    events: int  # distinct events
    profiles: int  # distinct profiles (unique opens, clicks, conversions)
    human_events: int  # distinct events not made by a machine
    human_profiles: int  # distinct profiles with at least one event not made by a machine
    revenue_micros: dict[str, int] = field(default_factory=dict)  # currency -> sum of value_micros


@dataclass(frozen=True)
class AggregateRow:
    """One group of AggregateEvents: a time bucket (start, end; None for the whole interval) and the
    dimensions asked for ("" / None for those not grouped by)."""

    start: datetime | None
    end: datetime | None
    type: str
    campaign: str
    channel: Channel | None
    variant: str
    events: int
    profiles: int
    value_micros: dict[str, int] = field(default_factory=dict)
