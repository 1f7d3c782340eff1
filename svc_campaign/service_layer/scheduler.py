"""The scheduler's use cases: start the campaigns whose start time has come, and
the next run of each recurring campaign whose next occurrence has come.

A due campaign starts through the same transition as `:start`, so its
`campaign_started` event plans the launch exactly as a manual start does. The
claim and the move to RUNNING happen in one unit of work: once it commits the
campaign is no longer due, and while it runs another replica on PostgreSQL
skips the claimed rows (FOR UPDATE SKIP LOCKED). On SQLite one campaign process
is assumed; even so the repository's version check refuses a second start.
A start missed while no process ran is simply due when one comes back, and
fires once. A recurring campaign (schedule.recurrence) stays RUNNING between
runs with `due_time` at its next occurrence; each run is a `campaign_started`
(run 2, 3, ...) that plans its own launch; occurrences missed while no process
ran (or while it was paused) fire one run, for the newest of them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from svc_kit.errors import Aborted, FailedPrecondition

from svc_campaign.domain.model import Campaign
from svc_campaign.service_layer.ports import NoSignals, SchedulerSignals
from svc_campaign.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("svc_campaign.scheduler")
BATCH = 50


def _trigger(campaign: Campaign) -> str:
    return "recurrence" if campaign.recurring else "schedule"


def start_due_campaigns(uow: UnitOfWork, clock: Callable[[], datetime], limit: int = BATCH,
                        signals: SchedulerSignals | None = None) -> list[Campaign]:
    """Starts up to `limit` due campaigns in one transaction; returns those it started."""
    signals = signals or NoSignals()
    now = clock()
    started: list[tuple[Campaign, datetime | None]] = []
    try:
        with uow:
            for campaign in uow.campaigns.claim_due(now, limit):
                expected = campaign.version
                planned = campaign.due_time
                try:
                    campaign.fire(now)
                except FailedPrecondition as problem:  # the claim reads due rows only: not expected
                    log.warning("scheduled start of %s refused: %s", campaign.id, problem)
                    signals.campaign_start(_trigger(campaign), "failed", None)
                    continue
                uow.campaigns.save(campaign, expected)
                started.append((campaign, planned))
            if started:
                uow.commit()
    except Exception:
        for campaign, _ in started:  # claimed and fired, but not committed: tried again next pass
            signals.campaign_start(_trigger(campaign), "failed", None)
        raise
    for campaign, planned in started:
        signals.campaign_start(_trigger(campaign), "ok",
                               max(0.0, (now - planned).total_seconds()) if planned is not None else None)
        log.info("workspaces/%s/campaigns/%s run %d started by its schedule (occurrence %s)", campaign.workspace,
                 campaign.id, campaign.runs, campaign.last_run_time.isoformat())
    return [campaign for campaign, _ in started]


def next_due_time(uow: UnitOfWork) -> datetime | None:
    with uow:
        return uow.campaigns.next_due_time()


def run_pass(uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime],
             limit: int = BATCH, signals: SchedulerSignals | None = None) -> int:
    """Starts every due campaign, a batch per transaction; a batch another writer raced is retried next pass."""
    total = 0
    while True:
        try:
            started = start_due_campaigns(uow_factory(), clock, limit, signals)
        except Aborted as problem:
            log.info("scheduler pass raced another writer: %s", problem)
            return total
        total += len(started)
        if len(started) < limit:
            return total
