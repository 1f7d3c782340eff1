"""The launch saga of a campaign with an A/B test, with fake peers: the test share goes out with each
arm's variant, the launch waits until its decide time (saved: a restarted worker waits for the same
moment), decides on the figures and sends the winner to everyone else, each member once; a template
with fewer than two variants fails the preflight; the analytics service out of reach holds the
decision."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from svc_kit.channels import Channel

from svc_campaign.adapters.codec import ab_run_from_json, ab_run_to_json
from svc_campaign.domain.ab_test import Comparison, Figures, Phase, Reason, VariantFigures
from svc_campaign.domain.launch import Launch, LaunchState, Step, StepOutcome
from svc_campaign.domain.values import AbTest, GoalMetric
from svc_campaign.service_layer.launch import LaunchRunner
from svc_campaign.service_layer.ports import PeerUnavailable

from tests.unit.campaign.test_launch import NOW, Clock, FakeAudience, FakeContent, FakeNotify, FakeStore, profiles

SEGMENT = "workspaces/acme/segments/a"
TEMPLATE = "workspaces/acme/templates/t"


class VariantContent(FakeContent):
    def __init__(self, variants=("control", "b")):
        super().__init__()
        self.variant_ids = tuple(variants)

    async def render(self, template, profile, campaign, variant=""):
        await super().render(template, profile, campaign)
        self.rendered[-1] = (template, profile, variant)

    async def variants(self, template):
        return self.variant_ids


class VariantNotify(FakeNotify):
    def __init__(self):
        super().__init__()
        self.variant_of: dict[str, str] = {}  # recipient -> variant sent

    async def send(self, workspace, campaign, channel, template, messages):
        for m in messages:
            self.variant_of.setdefault(m.recipient, m.variant)
        return await super().send(workspace, campaign, channel, template, messages)


class FakeFigures:
    def __init__(self, notify: VariantNotify, goal: dict[str, float]):
        self.notify, self.goal = notify, goal  # variant -> share of its recipients who reach the goal
        self.calls: list[GoalMetric] = []
        self.failures: list[Exception] = []
        self.comparisons: tuple[Comparison, ...] = ()

    async def figures(self, campaign, channel, metric):
        self.calls.append(metric)
        if self.failures:
            raise self.failures.pop(0)
        rows = []
        for variant in sorted(set(self.notify.variant_of.values())):
            sent = sum(1 for v in self.notify.variant_of.values() if v == variant)
            rows.append(VariantFigures(variant, sent, sent, int(sent * self.goal.get(variant, 0))))
        return Figures(tuple(rows), self.comparisons)


def ab_launch(campaign_id="c1", members=1000, wait=timedelta(hours=1), significant=False):
    launch = Launch.plan("acme", campaign_id, (SEGMENT,), {Channel.EMAIL: TEMPLATE}, NOW,
                         ab_test=AbTest(20, wait, GoalMetric.CLICKS, significant))
    audience = FakeAudience({SEGMENT: profiles("p", members)})
    notify = VariantNotify()
    return launch, audience, notify


def drive(runner, store, clock, until, passes=100):
    for _ in range(passes):
        if until(store.launch):
            return
        asyncio.run(runner.run_due())
    raise AssertionError(f"not reached: {store.launch}")


def test_the_test_share_gets_the_variants_then_the_rest_gets_the_winner():
    clock = Clock()
    launch, audience, notify = ab_launch()
    store, content = FakeStore(launch), VariantContent()
    figures = FakeFigures(notify, {"control": 0.05, "b": 0.2})
    runner = LaunchRunner(store, audience, notify, clock, content, page_size=300, figures=figures)

    drive(runner, store, clock, lambda l: l.ab.phase is Phase.WAITING and l.ab.checks)
    waiting = store.launch
    assert waiting.ab.arms == ("control", "b") and waiting.ab.decide_time == NOW + timedelta(hours=1)
    assert {v for _, _, v in content.rendered} == {"control", "b"}  # the preflight rendered each variant
    test_share = dict(notify.variant_of)
    assert 120 < len(test_share) < 280 and set(test_share.values()) == {"control", "b"}
    assert figures.calls == []  # no early decision asked for: nothing read before the decide time
    assert waiting.state is LaunchState.RUNNING and waiting.next_attempt_time == waiting.ab.decide_time
    assert asyncio.run(runner.run_due()) == 0  # not due while it waits

    clock.now = waiting.ab.decide_time
    drive(runner, store, clock, lambda l: l.state is LaunchState.COMPLETED)
    done = store.launch
    decision = done.ab.decision
    assert (decision.winner, decision.reason, decision.decide_time) == ("b", Reason.WAIT_ELAPSED, clock.now)
    assert figures.calls == [GoalMetric.CLICKS]
    assert len(notify.sent) == 1000 and len(notify.variant_of) == 1000  # each member once
    assert all(v == "b" for p, v in notify.variant_of.items() if p not in test_share)
    assert all(notify.variant_of[p] == v for p, v in test_share.items())
    (target,) = done.targets
    assert (target.total, target.sent, target.duplicates) == (1000, 1000, 0)
    decide = next(r for r in done.steps if r.step is Step.DECIDE_AB_TEST)
    assert decide.outcome is StepOutcome.DONE and decide.detail.startswith("b wins (WAIT_ELAPSED")
    assert [r.step for r in done.steps] == [Step.FREEZE_SNAPSHOT, Step.PREFLIGHT_RENDER, Step.SCHEDULE_DELIVERIES,
                                            Step.DECIDE_AB_TEST, Step.SCHEDULE_DELIVERIES, Step.INIT_TRACKING]


class Signals:
    def __init__(self):
        self.starts = []

    def campaign_start(self, trigger, outcome, lateness_seconds):
        self.starts.append((trigger, outcome, lateness_seconds))


def test_the_winner_step_reports_how_late_it_ran_against_its_decide_time():
    clock = Clock()
    launch, audience, notify = ab_launch("c9")
    store, signals = FakeStore(launch), Signals()
    runner = LaunchRunner(store, audience, notify, clock, VariantContent(), page_size=300,
                          figures=FakeFigures(notify, {"control": 0.05, "b": 0.2}), signals=signals)
    drive(runner, store, clock, lambda l: l.ab.phase is Phase.WAITING and l.ab.checks)
    assert signals.starts == []
    clock.now = store.launch.ab.decide_time + timedelta(seconds=42)
    drive(runner, store, clock, lambda l: l.state is LaunchState.COMPLETED)
    assert signals.starts == [("abtest_winner", "ok", 42.0)]


def test_a_restarted_worker_waits_for_the_saved_decide_time_and_sends_nobody_twice():
    clock = Clock()
    launch, audience, notify = ab_launch("c2")
    store, content = FakeStore(launch), VariantContent()
    runner = LaunchRunner(store, audience, notify, clock, content, page_size=300,
                          figures=FakeFigures(notify, {"control": 0.3}))
    drive(runner, store, clock, lambda l: l.ab.phase is Phase.WAITING)
    saved = ab_run_to_json(store.launch.ab)  # what the database keeps
    clock.now += timedelta(minutes=10)
    # a new worker (after a kill -9) reads the launch back; the wait is counted from the saved decide time
    store = FakeStore(replace(store.launch, ab=ab_run_from_json(saved)))
    runner = LaunchRunner(store, audience, notify, clock, content, page_size=300,
                          figures=FakeFigures(notify, {"control": 0.3}))
    asyncio.run(runner.run_due())
    assert store.launch.ab.phase is Phase.WAITING and store.launch.ab.decide_time == NOW + timedelta(hours=1)
    clock.now = NOW + timedelta(hours=1)
    drive(runner, store, clock, lambda l: l.state is LaunchState.COMPLETED)
    assert store.launch.ab.decision.winner == "control" and len(notify.sent) == 1000


def test_a_significant_result_decides_before_the_wait_is_over():
    clock = Clock()
    launch, audience, notify = ab_launch("c3", members=3000, significant=True)
    store, content = FakeStore(launch), VariantContent(("a", "b"))
    figures = FakeFigures(notify, {"a": 0.02, "b": 0.02})
    runner = LaunchRunner(store, audience, notify, clock, content, page_size=1000, figures=figures)
    drive(runner, store, clock, lambda l: l.ab.phase is Phase.WAITING and l.ab.checks)
    assert store.launch.next_attempt_time == clock.now + timedelta(seconds=30)  # reads again soon
    figures.goal = {"a": 0.02, "b": 0.2}  # the clicks come in
    clock.now += timedelta(seconds=30)
    drive(runner, store, clock, lambda l: l.state is LaunchState.COMPLETED)
    decision = store.launch.ab.decision
    assert (decision.winner, decision.reason) == ("b", Reason.SIGNIFICANT) and decision.p_value < 0.05
    assert decision.decide_time < NOW + timedelta(hours=1)


def test_no_goal_event_sends_the_control_with_reason_no_data():
    clock = Clock()
    launch, audience, notify = ab_launch("c4", members=50, wait=timedelta(seconds=5))
    store = FakeStore(launch)
    runner = LaunchRunner(store, audience, notify, clock, VariantContent(("b", "a")), figures=FakeFigures(notify, {}))
    drive(runner, store, clock, lambda l: l.ab.phase is Phase.WAITING)
    clock.now += timedelta(seconds=5)
    drive(runner, store, clock, lambda l: l.state is LaunchState.COMPLETED)
    assert (store.launch.ab.decision.winner, store.launch.ab.decision.reason) == ("a", Reason.NO_DATA)
    assert len(notify.sent) == 50


def test_the_decision_waits_while_analytics_is_out_of_reach():
    clock = Clock()
    launch, audience, notify = ab_launch("c5", members=100, wait=timedelta(seconds=5))
    store = FakeStore(launch)
    figures = FakeFigures(notify, {"b": 0.5})
    runner = LaunchRunner(store, audience, notify, clock, VariantContent(), figures=figures)
    drive(runner, store, clock, lambda l: l.ab.phase is Phase.WAITING)
    clock.now += timedelta(seconds=5)
    figures.failures = [PeerUnavailable("analytics: UNAVAILABLE")]
    asyncio.run(runner.run_due())
    waiting = store.launch
    assert waiting.ab.phase is Phase.WAITING and waiting.last_error == "analytics: UNAVAILABLE"
    assert waiting.steps[-1].outcome is StepOutcome.RETRYING and waiting.steps[-1].step is Step.DECIDE_AB_TEST
    clock.now += timedelta(seconds=1)
    drive(runner, store, clock, lambda l: l.state is LaunchState.COMPLETED)
    assert store.launch.ab.decision.winner == "b" and len(notify.sent) == 100


def test_a_template_with_one_variant_fails_the_preflight_and_sends_nothing():
    clock = Clock()
    launch, audience, notify = ab_launch("c6", members=10)
    store = FakeStore(launch)
    runner = LaunchRunner(store, audience, notify, clock, VariantContent(("only",)), figures=FakeFigures(notify, {}))
    drive(runner, store, clock, lambda l: l.state is LaunchState.FAILED)
    failed = store.launch
    assert failed.failed_step is Step.PREFLIGHT_RENDER and "at least two variants" in failed.failure_reason
    assert "has 1" in failed.failure_reason and not notify.sent


def test_schedule_and_start_check_the_variants_when_content_answers():
    from svc_campaign.domain.model import Campaign, CampaignFields
    from svc_campaign.domain.values import ContentRef
    from svc_campaign.service_layer.launch import ab_test_readiness
    from svc_campaign.service_layer.ports import PeerRefused

    def campaign(ab=AbTest(20, timedelta(hours=1))):
        return Campaign.create("acme", "c9", CampaignFields(display_name="x", ab_test=ab, contents=(
            ContentRef(Channel.EMAIL, TEMPLATE),)), NOW)

    class Down(VariantContent):
        def __init__(self, problem):
            super().__init__()
            self.problem = problem

        async def variants(self, template):
            raise self.problem

    assert asyncio.run(ab_test_readiness(campaign(), VariantContent())) == []
    assert asyncio.run(ab_test_readiness(campaign(None), VariantContent(()))) == []  # no test: no check
    [one] = asyncio.run(ab_test_readiness(campaign(), VariantContent(("only",))))
    assert one.field == "campaign.ab_test" and "has 1" in one.description
    assert asyncio.run(ab_test_readiness(campaign(), Down(PeerUnavailable("content: UNAVAILABLE")))) == []
    [gone] = asyncio.run(ab_test_readiness(campaign(), Down(PeerRefused("not published"))))
    assert gone.field == "campaign.contents[0].template" and "not published" in gone.description
