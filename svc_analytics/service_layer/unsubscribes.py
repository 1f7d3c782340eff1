"""An unsubscribe link used (audience's profile_unsubscribed) counted as the campaign's
`message_unsubscribed`: attributed to the profile's last message of that campaign (on the link's
channel when it names one), so the report shows it per channel and variant."""

from __future__ import annotations

from datetime import datetime

from svc_kit.channels import Channel

from svc_analytics.domain.model import DELIVERED, QUEUED, SENT, UNSUBSCRIBED, StoredEvent
from svc_analytics.service_layer.ports import EventQuery, EventStore

SOURCE_AUDIENCE = "audience"
_MESSAGE_TYPES = (QUEUED, SENT, DELIVERED)


def unsubscribe_event(store: EventStore, workspace: str, event_id: str, profile: str, campaign: str,
                      channel: Channel | None, event_time: datetime, now: datetime) -> StoredEvent:
    last = None
    if profile and campaign:
        found = store.list(EventQuery(workspace, profile=profile, campaign=campaign, channel=channel,
                                      types=_MESSAGE_TYPES), limit=1)
        last = found[0] if found else None
    return StoredEvent(
        workspace=workspace, event_id=event_id, type=UNSUBSCRIBED, event_time=event_time, receive_time=now,
        source=SOURCE_AUDIENCE, profile=profile, campaign=campaign,
        channel=last.channel if last else channel, message=last.message if last else "",
        variant=last.variant if last else "", provider=last.provider if last else "")
