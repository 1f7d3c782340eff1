"""What a service layer hands to its outbox: one event to publish, with no
store or bus attached (svc_kit.events.outbox writes and relays them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OutboxEntry:
    event_id: str
    topic: str
    key: str
    record: Mapping[str, Any]
    properties: Mapping[str, str]
