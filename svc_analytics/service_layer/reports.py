"""GetCampaignReport: the campaign's metric rows from the store, assembled by
domain/report.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from svc_kit.errors import FieldViolation, InvalidArgument, NotFound
from svc_kit.names import format_name

from svc_analytics.domain import significance
from svc_analytics.domain.ingest import EVENT_TYPE
from svc_analytics.domain.model import DEFAULT_ATTRIBUTION_WINDOW, DEFAULT_GOAL
from svc_analytics.domain.report import CampaignReport, build_report
from svc_analytics.service_layer.ports import EventStore
from svc_analytics.service_layer.time_range import check_bounds

Clock = Callable[[], datetime]


def check_interval(start: datetime | None, end: datetime | None, field: str = "interval") -> None:
    check_bounds(start, end, field)
    if start is not None and end is not None and end <= start:
        raise InvalidArgument(FieldViolation(f"{field}.end_time", "must be after start_time"))


def campaign_report(store: EventStore, workspace: str, campaign: str, clock: Clock, *,
                    start: datetime | None = None, end: datetime | None = None, goal_type: str = "",
                    attribution_window: timedelta = DEFAULT_ATTRIBUTION_WINDOW,
                    minimum_sample: int = significance.MIN_SAMPLE) -> CampaignReport:
    """The campaign's report over [start, end) (its whole life when unset). NotFound when the store
    holds no event of the campaign at all in this workspace (so another workspace's campaign is not
    found); a campaign with events outside the interval gets a report of zeros."""
    goal_type = goal_type or DEFAULT_GOAL
    if not EVENT_TYPE.fullmatch(goal_type):
        raise InvalidArgument(FieldViolation("conversion_event_type", "must be 1-64 characters [a-z][a-z0-9_]*"))
    check_interval(start, end)
    update_time = clock()
    rows = store.campaign_metrics(workspace, campaign, start, end)
    if not rows and (start is None and end is None or not store.campaign_metrics(workspace, campaign, None, None)):
        raise NotFound(format_name(workspace, "campaigns", campaign) + "/report",
                       f"no events of workspaces/{workspace}/campaigns/{campaign} were recorded")
    return build_report(workspace, campaign, rows, start=start, end=end, attribution_window=attribution_window,
                        goal_type=goal_type, update_time=update_time, minimum_sample=minimum_sample)
