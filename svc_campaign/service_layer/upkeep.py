"""The upkeep pass over live campaigns, from their launch and the tally of
notify's delivery events (domain/delivery.py):

- a RUNNING or PAUSED campaign whose launch failed for good (a step the peer
  refused, its compensations made: the launch is FAILED) fails, through the
  `fail` transition, the only way to FAILED (so `campaign_failed` is published
  through the outbox); FAILED is final;
- a RUNNING campaign whose launch handed over every message, whose messages are
  all final and whose window is over (a recurring campaign: its rule has no
  occurrence left and every run's launch is done) completes, through the same transition as
  `:complete` (so `campaign_completed` is published through the outbox);
- a RUNNING campaign with a channel whose spend reached its allocation pauses
  through the same transition as `:pause` (its messages are then held in
  notify), and the reason BUDGET_EXHAUSTED is recorded with the pause's time;
- a campaign still PAUSED by that very pause (its state time is the pause's
  time: a manual resume and pause since then is the caller's) resumes once no
  channel is exhausted any more, that is once its budget was raised.

Each campaign is judged in its own unit of work; the repository's version check
makes a race with a caller or another replica harmless (the pass retries later),
so the pass is idempotent and safe on several replicas."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from svc_kit.errors import Aborted, FailedPrecondition, NotFound

from svc_campaign.domain.delivery import BUDGET_EXHAUSTED, Tally, exhausted_channels, is_complete, launch_failed
from svc_campaign.domain.launch import LaunchState
from svc_campaign.domain.values import State
from svc_campaign.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("svc_campaign.upkeep")
BATCH = 500


@dataclass
class Outcome:
    completed: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def check_campaign(uow: UnitOfWork, workspace: str, campaign_id: str, clock: Callable[[], datetime]) -> str:
    """Fails, completes, pauses or resumes one campaign if it is due; returns the action taken ('' for none)."""
    with uow:
        campaign = uow.campaigns.get(workspace, campaign_id)
        if campaign is None or campaign.state not in (State.RUNNING, State.PAUSED):
            return ""
        now = clock()
        launch = uow.launches.get(workspace, campaign_id)
        tally = uow.deliveries.tally(workspace, campaign_id)
        exhausted = exhausted_channels(campaign.fields.budget, tally)
        expected = campaign.version
        action = ""
        if launch_failed(launch):
            action = "fail"
        elif campaign.state is State.RUNNING:
            if _complete(uow, campaign, launch, tally, now):
                action = "complete"
            elif exhausted:
                action = "pause"
        elif not exhausted:
            reason = uow.deliveries.pause_reason(workspace, campaign_id)
            if reason is not None and reason[0] == BUDGET_EXHAUSTED and reason[1] == campaign.state_time:
                action = "resume"
        if not action:
            return ""
        campaign.transition(action, now)
        if action == "fail":
            log.warning("workspaces/%s/campaigns/%s fails: its launch failed at %s: %s", workspace, campaign_id,
                        launch.failed_step.value if launch.failed_step else "?", launch.failure_reason)
            uow.deliveries.clear_pause_reason(workspace, campaign_id)
        elif action == "pause":
            uow.deliveries.set_pause_reason(workspace, campaign_id, BUDGET_EXHAUSTED, campaign.state_time)
            log.info("workspaces/%s/campaigns/%s pauses: budget exhausted on %s", workspace, campaign_id,
                     ", ".join(c.value for c in exhausted))
        elif action == "resume":
            uow.deliveries.clear_pause_reason(workspace, campaign_id)
        uow.campaigns.save(campaign, expected)
        uow.commit()
    log.info("workspaces/%s/campaigns/%s: %s by its upkeep", workspace, campaign_id, action)
    return action


def _complete(uow: UnitOfWork, campaign, launch, tally, now) -> bool:
    if not campaign.recurring or launch is None or launch.state is not LaunchState.COMPLETED:
        return is_complete(campaign, launch, tally, now)
    if campaign.has_more_runs:  # a recurring campaign between runs stays RUNNING
        return False
    live = [other for other in uow.launches.live(campaign.workspace, campaign.id)
            if other.state in (LaunchState.RUNNING, LaunchState.PAUSED, LaunchState.COMPENSATING)]
    return is_complete(campaign, launch, tally, now, uow.launches.handed_over(campaign.workspace, campaign.id),
                       bool(live))


@dataclass(frozen=True)
class Delivery:
    """A campaign's delivery tally as the stats show it."""

    tally: Tally
    pause_reason: str  # BUDGET_EXHAUSTED while paused by the upkeep, else empty


def get_delivery(workspace: str, campaign_id: str, uow: UnitOfWork) -> Delivery:
    with uow:
        campaign = uow.campaigns.get(workspace, campaign_id)
        if campaign is None:
            raise NotFound(f"workspaces/{workspace}/campaigns/{campaign_id}")
        reason = uow.deliveries.pause_reason(workspace, campaign_id)
        paused_here = (reason is not None and campaign.state is State.PAUSED
                       and reason[1] == campaign.state_time)
        return Delivery(uow.deliveries.tally(workspace, campaign_id), reason[0] if paused_here else "")


def run_pass(uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime], limit: int = BATCH) -> Outcome:
    """Judges every live campaign, a page of `limit` at a time."""
    outcome = Outcome()
    after = None
    while True:
        with uow_factory() as uow:
            live = uow.deliveries.live_campaigns(after, limit)
        for workspace, campaign_id in live:
            _judge(uow_factory, workspace, campaign_id, clock, outcome)
        if len(live) < limit:
            return outcome
        after = live[-1]


def _judge(uow_factory: Callable[[], UnitOfWork], workspace: str, campaign_id: str,
           clock: Callable[[], datetime], outcome: Outcome) -> None:
    try:
        action = check_campaign(uow_factory(), workspace, campaign_id, clock)
    except (Aborted, FailedPrecondition) as problem:  # a caller changed it meanwhile: judged again next pass
        log.info("upkeep of workspaces/%s/campaigns/%s raced a change: %s", workspace, campaign_id, problem)
        return
    {"fail": outcome.failed, "complete": outcome.completed, "pause": outcome.paused, "resume": outcome.resumed}.get(
        action, []).append(campaign_id)
