"""Suppression: addresses (or whole profiles) that must not be sent to, on
one channel or on every channel (global), for a reason, optionally until a time."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from svc_kit.channels import Channel


class Reason(enum.Enum):
    UNSUBSCRIBED = "UNSUBSCRIBED"
    BOUNCED = "BOUNCED"
    COMPLAINED = "COMPLAINED"
    MANUAL = "MANUAL"


@dataclass(frozen=True)
class Suppression:
    workspace: str
    suppression_id: str
    subject_kind: str  # "email", "phone" or "profile" (an external id)
    subject: str  # normalised: emails lower-cased
    channel: Channel | None  # None: every channel
    reason: Reason
    note: str = ""
    source: str = ""
    campaign: str = ""
    expire_time: datetime | None = None
    create_time: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expire_time is None or self.expire_time > now
