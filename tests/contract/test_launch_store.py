"""Launch plans in the campaign database (SQLite and PostgreSQL): planned
once from `campaign_started` whatever the redeliveries, following the
campaign's lifecycle, saved with a version check, picked up when due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from svc_kit.channels import Channel
from svc_kit.errors import Aborted

from svc_campaign.adapters.launch_repository import SqlLaunchRepository, SqlLaunchStore
from svc_campaign.adapters.repository import SqlCampaignRepository
from svc_campaign.domain import commands
from svc_campaign.domain.launch import CancelOutcome, LaunchState, MessagesAction, Step, StepOutcome, StepRecord
from svc_campaign.service_layer import handlers
from svc_campaign.service_layer.launch import follow_campaign
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from tests.fakes import NOW, ready_fields
from tests.unit.campaign.test_handlers import Clock, Ids


def lifecycle(engine: Engine, campaign_id: str, event_type: str) -> None:
    with engine.begin() as connection:
        follow_campaign(SqlCampaignRepository(connection), SqlLaunchRepository(connection), {"workspace": "acme", "aggregate_id": campaign_id, "event_type": event_type},
                        NOW)


def test_a_started_campaign_gets_one_launch_that_follows_its_lifecycle(engine):
    created = handlers.create_campaign(commands.CreateCampaign("acme", ready_fields(
        target_segments=("workspaces/acme/segments/vip", "workspaces/acme/segments/new"))),
        SqlUnitOfWork(engine), Clock(), Ids())
    lifecycle(engine, created.id, "campaign_started")
    lifecycle(engine, created.id, "campaign_started")  # redelivered: still one launch, untouched
    store = SqlLaunchStore(engine)
    launch = store.get("acme", created.id)
    assert launch.state is LaunchState.RUNNING and launch.version == 1
    assert [(t.segment.rsplit("/", 1)[1], t.channel) for t in launch.targets] == [
        ("vip", Channel.EMAIL), ("vip", Channel.SMS), ("new", Channel.EMAIL), ("new", Channel.SMS)]
    assert [x.campaign_id for x in store.due(NOW)] == [created.id]
    assert store.due(NOW - timedelta(seconds=1)) == []

    launch.snapshot_taken(0, "workspaces/acme/segments/vip/snapshots/s1", 42, NOW)
    saved = store.save(launch)
    assert store.get("acme", created.id).targets[0].total == 42 and saved.version == 2
    with pytest.raises(Aborted):
        store.save(launch)  # written from a stale read

    lifecycle(engine, created.id, "campaign_paused")
    paused = store.get("acme", created.id)
    assert paused.state is LaunchState.PAUSED and paused.pending_action is MessagesAction.HOLD
    [due] = store.due(NOW)  # paused, but its messages in notify are still to be held
    due.action_done(MessagesAction.HOLD, NOW)
    store.save(due)
    assert store.get("acme", created.id).pending_action is None and store.due(NOW) == []
    lifecycle(engine, created.id, "campaign_resumed")
    assert store.get("acme", created.id).state is LaunchState.RUNNING
    lifecycle(engine, created.id, "campaign_cancelled")
    cancelled = store.get("acme", created.id)
    assert cancelled.state is LaunchState.CANCELLED and cancelled.pending_action is MessagesAction.CANCEL
    [due] = store.due(NOW)
    due.action_done(MessagesAction.CANCEL, NOW, CancelOutcome(40, 2))
    store.save(due)
    done = store.get("acme", created.id)
    assert (done.pending_action, done.cancelled_messages, done.handed_over_messages) == (None, 40, 2)
    assert store.due(NOW + timedelta(days=1)) == []
    assert store.get("other", created.id) is None


def test_the_step_log_and_a_failure_being_compensated_survive_a_restart(engine):
    created = handlers.create_campaign(commands.CreateCampaign("acme", ready_fields(
        target_segments=("workspaces/acme/segments/vip",))), SqlUnitOfWork(engine), Clock(), Ids())
    lifecycle(engine, created.id, "campaign_started")
    store = SqlLaunchStore(engine)
    launch = store.get("acme", created.id)
    assert launch.steps == [] and not launch.tracking_initialised and launch.failed_step is None
    launch.snapshot_taken(0, "workspaces/acme/segments/vip/snapshots/s1", 42, NOW)
    launch.preflight_passed(0, NOW + timedelta(seconds=1), "rendered for workspaces/acme/profiles/p1")
    launch.hold_up("notify: UNAVAILABLE", NOW + timedelta(seconds=2), (Step.SCHEDULE_DELIVERIES, 0))
    store.save(launch)
    again = store.get("acme", created.id)
    assert again.steps == launch.steps and again.targets[0].rendered and not again.targets[1].rendered
    assert [(r.step, r.target, r.outcome) for r in again.steps] == [
        (Step.FREEZE_SNAPSHOT, 0, StepOutcome.DONE), (Step.PREFLIGHT_RENDER, 0, StepOutcome.DONE),
        (Step.SCHEDULE_DELIVERIES, 0, StepOutcome.RETRYING)]
    assert again.steps[1].time == NOW + timedelta(seconds=1) and again.steps[2].detail == "notify: UNAVAILABLE"

    again.step_failed(Step.PREFLIGHT_RENDER, 1, "content: INVALID_ARGUMENT unknown variable", NOW)
    store.save(again)
    failing = store.get("acme", created.id)
    assert failing.state is LaunchState.COMPENSATING and failing.compensations == [
        Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT]
    assert (failing.failed_step, failing.failure_reason) == (
        Step.PREFLIGHT_RENDER, "content: INVALID_ARGUMENT unknown variable")
    assert [x.campaign_id for x in store.due(NOW)] == [created.id]  # compensating: due until compensated
    failing.compensated(Step.CANCEL_MESSAGES, StepOutcome.DONE, NOW, "3 cancelled")
    failing.compensated(Step.RELEASE_SNAPSHOT, StepOutcome.NOT_POSSIBLE, NOW, "audience: PERMISSION_DENIED")
    store.save(failing)
    failed = store.get("acme", created.id)
    assert failed.state is LaunchState.FAILED and failed.compensations == [] and store.due(NOW) == []
    assert failed.steps[-1] == StepRecord(Step.RELEASE_SNAPSHOT, None, StepOutcome.NOT_POSSIBLE, NOW,
                                          "audience: PERMISSION_DENIED")
