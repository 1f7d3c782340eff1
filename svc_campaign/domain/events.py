"""Domain events of the campaign aggregate. They are its history: the unit of
work appends them to the event stream and the outbox in the same transaction
as the projection, and `Campaign.replay` folds them back into state.

`data` by type: campaign_created {"fields": CampaignFields}; campaign_updated
{"paths": [...], "fields": CampaignFields (after the change)}; state changes
{"from_state", "to_state"} (State values), campaign_started also {"run" (1, 2, ...), "occurrence_time"}
(a recurring campaign's next run is a campaign_started from RUNNING to RUNNING); campaign_deleted {"last_state"}."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CREATED = "campaign_created"
UPDATED = "campaign_updated"
DELETED = "campaign_deleted"
STATE_EVENTS = {
    "schedule": "campaign_scheduled",
    "unschedule": "campaign_unscheduled",
    "start": "campaign_started",
    "pause": "campaign_paused",
    "resume": "campaign_resumed",
    "complete": "campaign_completed",
    "cancel": "campaign_cancelled",
    "fail": "campaign_failed",  # the upkeep's, once the launch failed for good; never a caller's
}
STARTED = STATE_EVENTS["start"]
FAILED = STATE_EVENTS["fail"]
EVENT_TYPES = (CREATED, UPDATED, *STATE_EVENTS.values(), DELETED)


@dataclass(frozen=True)
class CampaignEvent:
    event_id: str
    type: str
    workspace: str
    campaign_id: str
    version: int  # the campaign's version after this event
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
