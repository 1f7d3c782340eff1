"""A campaign's A/B test in the campaign database (SQLite and PostgreSQL): its settings on the campaign
row and in its history, planned onto its launch at the start, and the launch's test state (arms, decide
time, decision) saved and read back."""

from __future__ import annotations

from datetime import timedelta

from svc_kit.channels import Channel

from svc_campaign.adapters.launch_repository import SqlLaunchRepository, SqlLaunchStore
from svc_campaign.adapters.repository import SqlCampaignRepository
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_campaign.domain import commands
from svc_campaign.domain.ab_test import Decision, Phase, Reason, VariantFigures
from svc_campaign.domain.launch import PageOutcome
from svc_campaign.domain.model import Campaign
from svc_campaign.domain.values import AbTest, ContentRef, GoalMetric
from svc_campaign.service_layer import handlers
from svc_campaign.service_layer.launch import follow_campaign
from tests.fakes import NOW, ready_fields
from tests.unit.campaign.test_handlers import Clock, Ids

AB = AbTest(12.5, timedelta(minutes=90), GoalMetric.CONVERSIONS, True)


def test_the_ab_test_roundtrips_on_the_campaign_its_history_and_its_launch(engine):
    fields = ready_fields(channels=(Channel.EMAIL,), budget=None, ab_test=AB,
                          contents=(ContentRef(Channel.EMAIL, "workspaces/acme/templates/spring-email"),))
    created = handlers.create_campaign(commands.CreateCampaign("acme", fields), SqlUnitOfWork(engine), Clock(), Ids())
    assert handlers.get_campaign("acme", created.id, SqlUnitOfWork(engine)).fields.ab_test == AB
    with SqlUnitOfWork(engine) as uow:
        history = uow.campaigns.history("acme", created.id)
    assert Campaign.replay(history).fields.ab_test == AB

    with engine.begin() as connection:
        follow_campaign(SqlCampaignRepository(connection), SqlLaunchRepository(connection),
                        {"workspace": "acme", "aggregate_id": created.id, "event_type": "campaign_started"}, NOW)
    store = SqlLaunchStore(engine)
    launch = store.get("acme", created.id)
    assert (launch.ab.test_share_percent, launch.ab.wait, launch.ab.goal_metric, launch.ab.phase) == (
        12.5, timedelta(minutes=90), GoalMetric.CONVERSIONS, Phase.TEST)

    launch.snapshot_taken(0, "workspaces/acme/segments/vip/snapshots/s", 10, NOW)
    launch.variants_found(("control", "b"))
    launch.preflight_passed(0, NOW)
    launch.page_sent(0, PageOutcome(2, 0, 0, ""), NOW)
    launch = store.save(launch)
    waiting = store.get("acme", created.id)
    assert waiting.ab.phase is Phase.WAITING and waiting.ab.arms == ("control", "b")
    assert waiting.ab.decide_time == NOW + timedelta(minutes=90) and waiting.targets[0].tested
    assert waiting.next_attempt_time == NOW  # due: the decision step reads the figures

    decision = Decision("b", Reason.SIGNIFICANT, NOW + timedelta(minutes=5), 0.0125, "control",
                        (VariantFigures("control", 100, 98, 3), VariantFigures("b", 101, 99, 14)))
    waiting.ab_decided(decision, NOW + timedelta(minutes=5))
    store.save(waiting)
    decided = store.get("acme", created.id)
    assert decided.ab.decision == decision and decided.ab.phase is Phase.REMAINDER
    assert decided.targets[0].cursor == "" and decided.targets[0].tested
