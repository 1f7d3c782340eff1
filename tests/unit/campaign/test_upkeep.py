"""Completion and budget exhaustion over the fake unit of work, with a fake
tally: a running campaign completes once its launch handed every message over,
each is final and its window is over; an exhausted allocation (or total) pauses
it with reason BUDGET_EXHAUSTED; a raised budget resumes only that pause."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from svc_kit.errors import FailedPrecondition

from svc_campaign.domain import commands
from svc_campaign.domain.delivery import BUDGET_EXHAUSTED, Spend, Tally, exhausted_channels
from svc_campaign.domain.launch import Launch, LaunchState, Step, Target, TargetState
from svc_campaign.domain.values import Budget, Channel, ChannelAllocation, Money, Schedule, State
from svc_campaign.service_layer import handlers, upkeep
from tests.fakes import NOW, FakeDatabase, FakeUnitOfWork, ready_fields

START = NOW + timedelta(days=1)
END = START + timedelta(days=7)
BUDGET = Budget(Money("EUR", Decimal("10")), (ChannelAllocation(Channel.EMAIL, Money("EUR", Decimal("2"))),
                                              ChannelAllocation(Channel.SMS, Money("EUR", Decimal("0")))))


class Launches:
    """The launch repository's read, over a dict."""

    def __init__(self):
        self.by_id: dict[str, Launch] = {}

    def get(self, workspace, campaign_id):
        return self.by_id.get(campaign_id)


class LaunchUnitOfWork(FakeUnitOfWork):
    def __init__(self, database: FakeDatabase, launches: Launches):
        super().__init__(database)
        self.launches = launches


def running(end=END, budget=BUDGET):
    database, launches = FakeDatabase(), Launches()
    fields = ready_fields(start=START, schedule=Schedule(START, end, "Europe/Paris"), budget=budget)
    handlers.create_campaign(commands.CreateCampaign("acme", fields, "c1"), FakeUnitOfWork(database),
                             lambda: NOW, lambda: "x")
    handlers.change_state(commands.ChangeState("acme", "c1", "schedule"), FakeUnitOfWork(database), lambda: NOW)
    handlers.change_state(commands.ChangeState("acme", "c1", "start"), FakeUnitOfWork(database), lambda: START)
    return database, launches, (lambda: LaunchUnitOfWork(database, launches))


def launch(handed_over: int, state=LaunchState.COMPLETED) -> Launch:
    target = Target("workspaces/acme/segments/vip", Channel.EMAIL, "t", sent=handed_over - 1, duplicates=1,
                    state=TargetState.DONE)
    return Launch("acme", "c1", [target], state)


def state(database) -> State:
    return database.campaigns[("acme", "c1")].campaign.state


def eur(channel: Channel, amount: str) -> Spend:
    return Spend(channel, "EUR", 1, int(Decimal(amount) * 1_000_000))


def test_completes_when_every_handed_over_message_is_final_and_the_window_is_over():
    database, launches, uow = running()
    launches.by_id["c1"] = launch(3, LaunchState.RUNNING)
    database.tallies["c1"] = Tally(known=3, final=3)
    assert upkeep.run_pass(uow, lambda: END).completed == []  # the launch is still handing over
    launches.by_id["c1"] = launch(3)
    database.tallies["c1"] = Tally(known=2, final=2)
    assert upkeep.run_pass(uow, lambda: END).completed == []  # a message handed over is not reported yet
    database.tallies["c1"] = Tally(known=3, final=2)
    assert upkeep.run_pass(uow, lambda: END).completed == []
    database.tallies["c1"] = Tally(known=3, final=3)
    assert upkeep.run_pass(uow, lambda: END - timedelta(seconds=1)).completed == []  # window not over
    assert upkeep.run_pass(uow, lambda: END).completed == ["c1"]
    assert state(database) is State.COMPLETED
    assert upkeep.run_pass(uow, lambda: END) == upkeep.Outcome()
    assert [e.type for e in database.outbox].count("campaign_completed") == 1


def test_without_an_end_time_it_completes_once_the_launch_is_done():
    database, launches, uow = running(end=None)
    launches.by_id["c1"] = launch(1)
    database.tallies["c1"] = Tally(known=1, final=1)
    assert upkeep.run_pass(uow, lambda: START).completed == ["c1"]


def test_an_exhausted_allocation_pauses_and_only_that_pause_resumes_on_a_raised_budget():
    database, launches, uow = running()
    database.tallies["c1"] = Tally(known=2, spend=(eur(Channel.EMAIL, "1.99"), eur(Channel.SMS, "5")))
    assert upkeep.run_pass(uow, lambda: START) == upkeep.Outcome()  # SMS's zero allocation sets no limit
    database.tallies["c1"] = Tally(known=2, spend=(eur(Channel.EMAIL, "2"),))
    assert upkeep.run_pass(uow, lambda: START).paused == ["c1"]
    assert state(database) is State.PAUSED and database.pause_reasons["c1"][0] == BUDGET_EXHAUSTED
    assert upkeep.run_pass(uow, lambda: START) == upkeep.Outcome()

    campaign = database.campaigns[("acme", "c1")].campaign
    raised = replace(BUDGET, allocations=(ChannelAllocation(Channel.EMAIL, Money("EUR", Decimal("3"))),))
    handlers.update_campaign(commands.UpdateCampaign("acme", "c1", replace(campaign.fields, budget=raised),
                                                     frozenset({"budget"})), FakeUnitOfWork(database), lambda: START)
    assert upkeep.run_pass(uow, lambda: START).resumed == ["c1"]
    assert state(database) is State.RUNNING and "c1" not in database.pause_reasons

    handlers.change_state(commands.ChangeState("acme", "c1", "pause"), FakeUnitOfWork(database), lambda: START)
    assert upkeep.run_pass(uow, lambda: START) == upkeep.Outcome()  # a caller's pause stays


def test_the_total_stops_every_spending_channel():
    spend = Tally(spend=(eur(Channel.EMAIL, "1"), eur(Channel.SMS, "9")))
    assert exhausted_channels(BUDGET, spend) == [Channel.EMAIL, Channel.SMS]
    assert exhausted_channels(BUDGET, Tally(spend=(eur(Channel.SMS, "9.99"),))) == []
    assert exhausted_channels(None, spend) == []
    other_currency = Tally(spend=(Spend(Channel.EMAIL, "USD", 1, 50_000_000),))
    assert exhausted_channels(BUDGET, other_currency) == []


def test_a_pass_pages_through_every_live_campaign():
    database, launches, uow = running(end=None)
    for i in range(2, 6):
        fields = ready_fields(start=START, schedule=Schedule(START, None, "Europe/Paris"))
        handlers.create_campaign(commands.CreateCampaign("acme", fields, f"c{i}"), FakeUnitOfWork(database),
                                 lambda: NOW, lambda: "x")
        handlers.change_state(commands.ChangeState("acme", f"c{i}", "schedule"), FakeUnitOfWork(database), lambda: NOW)
        handlers.change_state(commands.ChangeState("acme", f"c{i}", "start"), FakeUnitOfWork(database), lambda: START)
    for i in range(1, 6):
        launches.by_id[f"c{i}"] = replace(launch(1), campaign_id=f"c{i}")
        database.tallies[f"c{i}"] = Tally(known=1, final=1)
    assert upkeep.run_pass(uow, lambda: START, limit=2).completed == ["c1", "c2", "c3", "c4", "c5"]


def failed_launch(state=LaunchState.FAILED) -> Launch:
    target = Target("workspaces/acme/segments/vip", Channel.EMAIL, "t", state=TargetState.FAILED, error="gone")
    return Launch("acme", "c1", [target], state, failed_step=Step.FREEZE_SNAPSHOT, failure_reason="NOT_FOUND gone")


def test_a_launch_that_failed_for_good_fails_the_campaign_once_compensated():
    database, launches, uow = running()
    launches.by_id["c1"] = failed_launch(LaunchState.COMPENSATING)
    assert upkeep.run_pass(uow, lambda: START) == upkeep.Outcome()  # still compensating: not yet
    assert state(database) is State.RUNNING
    launches.by_id["c1"] = failed_launch()
    assert upkeep.run_pass(uow, lambda: START) == upkeep.Outcome(failed=["c1"])
    assert state(database) is State.FAILED
    assert upkeep.run_pass(uow, lambda: START) == upkeep.Outcome()  # final: judged no more
    failed = [e for e in database.outbox if e.type == "campaign_failed"]
    assert [e.data for e in failed] == [{"from_state": "RUNNING", "to_state": "FAILED"}]


def test_a_paused_campaign_whose_launch_failed_fails_too_and_its_budget_pause_is_forgotten():
    database, launches, uow = running()
    database.tallies["c1"] = Tally(known=2, spend=(eur(Channel.EMAIL, "2"),))
    assert upkeep.run_pass(uow, lambda: START).paused == ["c1"]
    launches.by_id["c1"] = failed_launch()
    assert upkeep.run_pass(uow, lambda: START).failed == ["c1"]
    assert state(database) is State.FAILED and "c1" not in database.pause_reasons
    campaign = database.campaigns[("acme", "c1")].campaign
    raised = replace(BUDGET, allocations=(ChannelAllocation(Channel.EMAIL, Money("EUR", Decimal("3"))),))
    handlers.update_campaign(commands.UpdateCampaign("acme", "c1", replace(campaign.fields, description="x"),
                                                     frozenset({"description"})), FakeUnitOfWork(database),
                             lambda: START)  # a final campaign keeps description and labels editable
    for action in ("resume", "pause", "complete", "cancel"):
        with pytest.raises(FailedPrecondition, match=f"cannot {action} a campaign in state FAILED"):
            handlers.change_state(commands.ChangeState("acme", "c1", action), FakeUnitOfWork(database),
                                  lambda: START)
    with pytest.raises(FailedPrecondition, match="campaign is FAILED: budget cannot change"):
        handlers.update_campaign(commands.UpdateCampaign("acme", "c1", replace(campaign.fields, budget=raised),
                                                         frozenset({"budget"})), FakeUnitOfWork(database),
                                 lambda: START)
    handlers.delete_campaign(commands.DeleteCampaign("acme", "c1"), FakeUnitOfWork(database), lambda: START)


def test_a_failed_launch_outranks_completion():
    database, launches, uow = running(end=None)
    launches.by_id["c1"] = replace(failed_launch(), targets=[replace(launch(1).targets[0])])
    database.tallies["c1"] = Tally(known=1, final=1)
    assert upkeep.run_pass(uow, lambda: START) == upkeep.Outcome(failed=["c1"])
