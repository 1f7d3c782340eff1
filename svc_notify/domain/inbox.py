"""A recipient's in-app inbox: the items the dispatcher stored there (one per
in-app message), read or not, and the inbox's counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from svc_notify.domain.model import InAppContent


@dataclass
class InboxItem:
    workspace: str
    inbox: str  # the profile's external id
    id: str
    message_id: str
    content: InAppContent
    campaign: str = ""
    read: bool = False
    create_time: datetime | None = None
    read_time: datetime | None = None
    expire_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/inboxes/{self.inbox}/items/{self.id}"


@dataclass(frozen=True)
class InboxSummary:
    workspace: str
    inbox: str
    unread_count: int
    total_count: int
    update_time: datetime | None
