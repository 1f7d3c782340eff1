"""A profile's erasure, as the service keeps track of it: the store deletes
asynchronously (ClickHouse 18.16's ALTER ... DELETE), so the request is
recorded and its completion noted once no event of the profile is left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Erasure:
    workspace: str
    profile: str  # the profile's external id
    request_time: datetime
    complete_time: datetime | None = None  # when the store was first seen holding none of its events
    remaining_events: int | None = None  # at the last check; None before any

    @property
    def complete(self) -> bool:
        return self.complete_time is not None
