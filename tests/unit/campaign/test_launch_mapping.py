"""A launch as GetCampaignLaunch shows it: a failing launch is FAILED (compensating while it undoes its steps)
with the failed step, the reason and the step log."""

from __future__ import annotations

from svc_kit.channels import Channel

from marketing.campaign.v1 import campaign_launch_pb2 as pb
from marketing.campaign.v1 import campaign_pb2
from svc_campaign.domain.launch import Launch, Step, StepOutcome
from svc_campaign.domain.model import Campaign
from svc_campaign.domain.values import State
from svc_campaign.entrypoints.mapping import campaign_launch_to_proto, campaign_to_proto
from tests.fakes import ready_fields
from tests.unit.campaign.test_launch import NOW


def test_a_failed_launch_shows_the_failed_step_the_reason_and_its_log():
    launch = Launch.plan("acme", "c1", ("workspaces/acme/segments/a",), {Channel.EMAIL: "t"}, NOW)
    launch.snapshot_taken(0, "workspaces/acme/segments/a/snapshots/s", 3, NOW)
    launch.step_failed(Step.PREFLIGHT_RENDER, 0, "content: INVALID_ARGUMENT", NOW)
    compensating = campaign_launch_to_proto(launch)
    assert compensating.state == pb.CampaignLaunch.STATE_FAILED and compensating.compensating
    assert compensating.failed_step == pb.CampaignLaunch.STEP_PREFLIGHT_RENDER
    assert compensating.failure_reason == "content: INVALID_ARGUMENT"
    launch.compensated(Step.RELEASE_SNAPSHOT, StepOutcome.DONE, NOW)
    failed = campaign_launch_to_proto(launch)
    assert failed.state == pb.CampaignLaunch.STATE_FAILED and not failed.compensating
    assert [(s.step, s.HasField("target") and s.target, s.outcome) for s in failed.steps] == [
        (pb.CampaignLaunch.STEP_FREEZE_SNAPSHOT, 0, pb.LaunchStepRecord.OUTCOME_DONE),
        (pb.CampaignLaunch.STEP_PREFLIGHT_RENDER, 0, pb.LaunchStepRecord.OUTCOME_FAILED),
        (pb.CampaignLaunch.STEP_RELEASE_SNAPSHOT, False, pb.LaunchStepRecord.OUTCOME_DONE)]
    assert failed.steps[0].time.ToDatetime().replace(tzinfo=NOW.tzinfo) == NOW


def test_a_run_s_launch_carries_its_run_and_occurrence_and_is_named_by_run_when_listed():
    from datetime import timedelta

    occurrence = NOW - timedelta(seconds=30)
    launch = Launch.plan("acme", "c1", ("workspaces/acme/segments/a",), {Channel.EMAIL: "t"}, NOW, run=3,
                         occurrence_time=occurrence)
    newest, listed = campaign_launch_to_proto(launch), campaign_launch_to_proto(launch, listed=True)
    assert (newest.name, listed.name) == ("workspaces/acme/campaigns/c1/launch",
                                          "workspaces/acme/campaigns/c1/launches/3")
    assert newest.run == listed.run == 3
    assert newest.occurrence_time.ToDatetime().replace(tzinfo=NOW.tzinfo) == occurrence


def test_a_failed_campaign_maps_to_state_failed():
    campaign = Campaign("acme", "c1", ready_fields(), State.FAILED, NOW, NOW, NOW, version=5)
    assert campaign_to_proto(campaign).state == campaign_pb2.Campaign.STATE_FAILED == 7
