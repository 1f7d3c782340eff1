"""The other services' events as analytics stores them: notify's message events (one row each,
source notify), campaign lifecycle events (source campaign), audience's profile_unsubscribed
(message_unsubscribed, attributed by the service layer). Ids in the store are bare ids: resource
names are cut to their last segment here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from svc_kit.channels import Channel

from svc_analytics.domain.model import MESSAGE_TYPES, SENT, SOURCE_CAMPAIGN, SOURCE_NOTIFY, StoredEvent

CAMPAIGN_PREFIX = "campaign_"
# Payload fields kept as properties (opens' and clicks' user agents decide machine or person).
_PROPERTIES = ("user_agent", "url", "reason", "bounce_type", "detail", "address", "template_version",
               "provider_message_id")


def last_segment(name: str, collection: str) -> str:
    """`workspaces/w/profiles/p` -> `p`; "" when `name` is not of that collection."""
    parts = name.split("/")
    return parts[3] if len(parts) == 4 and parts[0] == "workspaces" and parts[2] == collection else ""


def channel_of(value: str) -> Channel | None:
    value = (value or "").removeprefix("CHANNEL_")
    return Channel(value) if value in {c.value for c in Channel} else None


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(value) / 1e6, UTC)


def notify_event(value: Mapping[str, Any], now: datetime) -> StoredEvent | None:
    """One notify envelope as a stored row; None for an event type analytics does not count."""
    if value["event_type"] not in MESSAGE_TYPES:
        return None
    payload = value.get("payload") or {}
    info = payload.get("message") or {}
    variant = payload.get("variant") or info.get("variant") or ""
    cost = int(payload.get("cost_micros") or 0) if value["event_type"] == SENT else 0
    properties = {k: payload[k] for k in _PROPERTIES if payload.get(k)}
    return StoredEvent(
        workspace=value["workspace"], event_id=value["event_id"], type=value["event_type"],
        event_time=_time(value["occurred_at"]), receive_time=now, source=SOURCE_NOTIFY,
        profile=last_segment(info.get("recipient", ""), "profiles"),
        campaign=last_segment(info.get("campaign", ""), "campaigns"), channel=channel_of(info.get("channel", "")),
        message=value["aggregate_id"], variant=variant,
        provider=last_segment(payload.get("provider") or "", "providers"),
        value_micros=cost, currency=(payload.get("cost_currency") or "") if cost else "", properties=properties)


def campaign_event(value: Mapping[str, Any], now: datetime) -> StoredEvent | None:
    """A campaign lifecycle event (campaign_started, campaign_completed, ...) as a stored row."""
    if not str(value["event_type"]).startswith(CAMPAIGN_PREFIX):
        return None
    return StoredEvent(workspace=value["workspace"], event_id=value["event_id"], type=value["event_type"],
                       event_time=_time(value["occurred_at"]), receive_time=now, source=SOURCE_CAMPAIGN,
                       campaign=value["aggregate_id"])


def occurred(value: Mapping[str, Any]) -> datetime:
    return _time(value["occurred_at"])
