"""What the campaign service needs from outside, one Protocol each: the audience
service (segment snapshots and their members), the content service (the launch's preflight render),
the notify service (sending a
page of messages), the analytics service (a campaign's report, for the stats
read) and the store of launches the runner advances; with the values
and errors they exchange. Implementations are in svc_campaign.adapters (peers,
launch_repository), wired in bootstrap and the launch worker; unit tests give fakes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from svc_kit.channels import Channel

from svc_campaign.domain.ab_test import Figures
from svc_campaign.domain.launch import CancelOutcome, Launch
from svc_campaign.domain.values import GoalMetric


class PeerUnavailable(Exception):
    """Another service could not answer now; the step is tried again later."""


class PeerRefused(Exception):
    """Another service refused the step for good (gone, invalid)."""


@dataclass(frozen=True)
class Snapshot:
    name: str
    size: int


class AudiencePort(Protocol):
    async def snapshot(self, segment: str, channel: Channel, snapshot_id: str, campaign: str) -> Snapshot: ...

    async def members(self, snapshot: str, cursor: str, page_size: int) -> tuple[list[str], str]:
        """Profile names of one page, and the cursor of the next ("" after the last)."""

    async def release(self, snapshot: str) -> None:
        """Deletes a failed launch's frozen snapshot (idempotent: one already gone counts as released)."""

    async def time_zones(self, workspace: str, profiles: list[str]) -> dict[str, str]:
        """The profiles' time zones (IANA names as the profiles hold them, possibly empty) by profile name; a
        profile gone is left out. Asked only when a launch sends at the recipients' local time."""


class ContentPort(Protocol):
    async def render(self, template: str, profile: str, campaign: str, variant: str = "") -> None:
        """Renders `template` for one member as a real send would (the launch's preflight), as `variant` when
        given; PeerRefused when the template cannot render (missing, broken, invalid for the member)."""

    async def variants(self, template: str) -> tuple[str, ...]:
        """The ids of the variants a send of `template` (its latest published version) can get: those of
        weight above 0, in the template's order; PeerRefused when it is missing or unpublished."""


@dataclass(frozen=True)
class Outgoing:
    recipient: str  # workspaces/{w}/profiles/{p}
    idempotency_key: str
    send_time: datetime | None = None  # not before this (None: as soon as allowed)
    variant: str = ""  # the template variant to send; the recipient's assigned one when empty


class NotifyPort(Protocol):
    async def send(self, workspace: str, campaign: str, channel: Channel, template: str,
                   messages: list[Outgoing]) -> tuple[int, int, int]:
        """(accepted, duplicates, refused)."""

    async def cancel(self, workspace: str, campaign: str) -> CancelOutcome:
        """Cancels the campaign's messages no provider has yet (idempotent)."""

    async def hold(self, workspace: str, campaign: str) -> None:
        """The notify service keeps the campaign's messages until released (idempotent)."""

    async def release(self, workspace: str, campaign: str) -> None: ...


class ReportingDegraded(Exception):
    """The analytics service gave no report in time; the message says why, for people."""


class ReportingPort(Protocol):
    async def report(self, name: str) -> object:
        """The report `workspaces/{w}/campaigns/{c}/report` as the analytics API gives it (the
        entrypoint embeds it in CampaignStats unchanged), within the adapter's deadline; else
        ReportingDegraded, never another error and never later than the deadline."""


class AbTestFiguresPort(Protocol):
    async def figures(self, campaign: str, channel: Channel, metric: GoalMetric) -> Figures:
        """The campaign's figures per variant on `channel` for `metric`, from the analytics service (empty
        when it has recorded nothing yet); PeerUnavailable when it cannot answer now."""


class LaunchStore(Protocol):
    """Each call in its own short transaction: the runner holds none open while it talks to other services."""

    def due(self, now: datetime, limit: int = 10) -> list[Launch]: ...

    def save(self, launch: Launch) -> Launch:
        """Writes a changed launch read at `launch.version`; Aborted if it moved meanwhile."""



class CampaignLabels(Protocol):
    def label(self, workspace: str, campaign_id: str, key: str) -> str:
        """The value of the campaign's label `key` ("" when it has none, or the campaign is gone); read by the
        launch's fault injection (service_layer/faults.py, for tests only)."""


class SchedulerSignals(Protocol):
    """Where the scheduler reports each campaign run it started, or failed to (implemented in
    adapters/metrics.py: mkt_campaign_starts_total and mkt_campaign_start_lateness_seconds)."""

    def campaign_start(self, trigger: str, outcome: str, lateness_seconds: float | None) -> None:
        """trigger: schedule (a one-off start time), recurrence (a recurring campaign's run) or abtest_winner
        (an A/B test's winner sent at its decide time); outcome: ok or failed; lateness_seconds: how long
        after its planned time it ran (for ok)."""


class NoSignals:
    def campaign_start(self, trigger: str, outcome: str, lateness_seconds: float | None) -> None:
        pass
