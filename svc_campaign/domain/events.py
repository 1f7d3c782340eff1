"""Domain events the campaign aggregate records; the unit of work stores them
in the outbox in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CampaignEvent:
    type: str  # campaign_created, campaign_updated, campaign_scheduled, ...
    workspace: str
    campaign_id: str
    version: int
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


STATE_EVENTS = {
    "schedule": "campaign_scheduled",
    "unschedule": "campaign_unscheduled",
    "start": "campaign_started",
    "pause": "campaign_paused",
    "resume": "campaign_resumed",
    "complete": "campaign_completed",
    "cancel": "campaign_cancelled",
}
