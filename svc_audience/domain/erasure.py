"""An erasure request: one profile's erasure (right to erasure) and each service's confirmation
that it erased or anonymised what it held. Complete once every service confirmed."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# Every service that holds data about a profile, in the order a request shows them.
SERVICES = ("audience", "notify", "content", "campaign", "analytics")


@dataclass(frozen=True)
class ServiceConfirmation:
    service: str
    confirm_time: datetime
    counts: Mapping[str, int]


@dataclass(frozen=True)
class ErasureRequest:
    workspace: str
    erasure_id: str  # the profile_erased event's id
    profile: str  # external id
    create_time: datetime
    services: tuple[str, ...] = SERVICES
    confirmations: Mapping[str, ServiceConfirmation] = field(default_factory=dict)
    complete_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/erasureRequests/{self.erasure_id}"

    @property
    def complete(self) -> bool:
        return self.complete_time is not None

    def confirmed(self, confirmation: ServiceConfirmation) -> ErasureRequest:
        """With `confirmation` added; the first confirmation of a service stands (a repeat changes
        nothing). Complete when the last service confirms, at that confirmation's time."""
        if confirmation.service in self.confirmations or confirmation.service not in self.services:
            return self
        confirmations = {**self.confirmations, confirmation.service: confirmation}
        complete_time = self.complete_time
        if complete_time is None and all(s in confirmations for s in self.services):
            complete_time = max(c.confirm_time for c in confirmations.values())
        return dataclasses.replace(self, confirmations=confirmations, complete_time=complete_time)
