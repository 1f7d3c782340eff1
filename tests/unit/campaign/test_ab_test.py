"""A/B tests, pure: the split of the audience into test arms and remainder, the decision rule, and the
validation of a campaign's A/B test settings."""

from __future__ import annotations

import collections
from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.errors import InvalidArgument

from svc_campaign.domain import ab_test
from svc_campaign.domain.ab_test import Comparison, Figures, Reason, VariantFigures, decide
from svc_campaign.domain.model import Campaign, CampaignFields
from svc_campaign.domain.values import AbTest, Channel, ContentRef

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def test_the_test_share_is_split_evenly_and_each_member_keeps_their_arm():
    arms = ("control", "b")
    placed = {f"p{i}": ab_test.arm_of("c1", f"p{i}", 20, arms) for i in range(20_000)}
    counts = collections.Counter(placed.values())
    assert 1_800 < counts["control"] < 2_200 and 1_800 < counts["b"] < 2_200  # 10% each, give or take
    assert counts[None] == 20_000 - counts["control"] - counts["b"]
    assert all(ab_test.arm_of("c1", p, 20, arms) == arm for p, arm in list(placed.items())[:500])
    # another campaign draws another test share
    assert {p for p, a in placed.items() if a} != {f"p{i}" for i in range(20_000)
                                                    if ab_test.arm_of("c2", f"p{i}", 20, arms)}


def test_three_arms_share_the_test_evenly():
    counts = collections.Counter(ab_test.arm_of("c1", f"p{i}", 30, ("a", "b", "c")) for i in range(30_000))
    assert all(2_700 < counts[a] < 3_300 for a in "abc"), counts


def test_the_control_is_the_variant_named_control_else_the_first_by_id():
    assert ab_test.control_of(("b", "control", "a")) == "control"
    assert ab_test.control_of(("b", "a")) == "a"


def figures(*rows: tuple[str, int, int], comparisons=()) -> Figures:
    return Figures(tuple(VariantFigures(v, delivered, delivered, goal) for v, delivered, goal in rows),
                   tuple(comparisons))


def test_before_the_decide_time_there_is_no_decision_without_significance():
    assert decide(("a", "b"), figures(("a", 10, 1), ("b", 10, 5)), NOW, LATER, False) is None
    assert decide(("a", "b"), figures(("a", 10, 1), ("b", 10, 5)), NOW, LATER, True) is None  # too small


def test_a_significant_result_decides_early():
    found = figures(("a", 500, 20), ("b", 500, 60), comparisons=[Comparison("b", "a", 0.0001, True)])
    decision = decide(("a", "b"), found, NOW, LATER, True)
    assert (decision.winner, decision.reason, decision.p_value, decision.control) == (
        "b", Reason.SIGNIFICANT, 0.0001, "a")
    assert decision.decide_time == NOW and [f.variant for f in decision.variants] == ["a", "b"]


def test_significance_is_computed_when_analytics_compared_another_metric():
    found = figures(("a", 500, 20), ("b", 500, 60))  # no comparison on this metric
    decision = decide(("a", "b"), found, NOW, LATER, True)
    assert decision.winner == "b" and decision.reason is Reason.SIGNIFICANT and decision.p_value < 0.001


def test_a_control_significantly_better_than_every_variant_wins_early():
    found = figures(("a", 500, 60), ("b", 500, 20), comparisons=[Comparison("b", "a", 0.0002, True)])
    decision = decide(("a", "b"), found, NOW, LATER, True)
    assert (decision.winner, decision.reason) == ("a", Reason.SIGNIFICANT)


def test_once_the_wait_is_over_the_best_rate_wins():
    decision = decide(("control", "b", "c"), figures(("control", 10, 1), ("b", 10, 3), ("c", 10, 2)), LATER, LATER,
                      False)
    assert (decision.winner, decision.reason) == ("b", Reason.WAIT_ELAPSED)
    assert 0 < decision.p_value < 1


def test_a_tie_goes_to_the_control_and_no_data_too():
    tie = decide(("b", "control"), figures(("control", 10, 2), ("b", 10, 2)), LATER, LATER, False)
    assert (tie.winner, tie.reason) == ("control", Reason.WAIT_ELAPSED)
    nothing = decide(("b", "a"), Figures(), LATER, LATER, True)
    assert (nothing.winner, nothing.reason, nothing.p_value) == ("a", Reason.NO_DATA, 1.0)
    assert [(f.variant, f.sent, f.goal_count) for f in nothing.variants] == [("b", 0, 0), ("a", 0, 0)]


def test_the_rate_is_per_delivered_message_else_per_sent_one():
    assert VariantFigures("a", sent=10, delivered=4, goal_count=2).rate == 0.5
    assert VariantFigures("a", sent=10, delivered=0, goal_count=2).rate == 0.2
    assert VariantFigures("a").rate == 0.0


def test_the_two_proportion_test():
    assert ab_test.two_proportion_p_value(50, 1000, 50, 1000) == pytest.approx(1.0)
    assert ab_test.two_proportion_p_value(20, 500, 60, 500) < 0.001
    assert ab_test.two_proportion_p_value(0, 0, 1, 10) == 1.0


def campaign_with(ab: AbTest, contents=1) -> None:
    refs = tuple(ContentRef(c, f"workspaces/acme/templates/t{i}")
                 for i, c in enumerate((Channel.EMAIL, Channel.SMS)[:contents]))
    Campaign.create("acme", "c1", CampaignFields(display_name="x", contents=refs, ab_test=ab), NOW)


@pytest.mark.parametrize("ab, contents, field", [
    (AbTest(20, timedelta(seconds=-1)), 1, "campaign.ab_test.wait"),
    (AbTest(20, timedelta(0)), 1, "campaign.ab_test.wait"),
    (AbTest(20, timedelta(hours=1)), 2, "campaign.ab_test"),
])
def test_bad_ab_test_settings_name_the_field(ab, contents, field):
    with pytest.raises(InvalidArgument) as raised:
        campaign_with(ab, contents)
    assert [v.field for v in raised.value.violations] == [field]


def test_good_ab_test_settings_pass():
    campaign_with(AbTest(20, timedelta(hours=1)))
    campaign_with(AbTest(0.5, timedelta(0), decide_when_significant=True))


def test_the_ab_test_changes_while_scheduled_but_not_once_running():
    from svc_kit.errors import FailedPrecondition

    from svc_campaign.domain.values import State
    from tests.fakes import ready_fields

    fields = ready_fields(start=NOW + timedelta(days=1), channels=(Channel.EMAIL,), budget=None,
                          contents=(ContentRef(Channel.EMAIL, "workspaces/acme/templates/t"),))
    campaign = Campaign.create("acme", "c1", fields, NOW)
    campaign.transition("schedule", NOW)
    campaign.update(CampaignFields(ab_test=AbTest(20, timedelta(hours=1))), {"ab_test"}, NOW)
    assert campaign.fields.ab_test == AbTest(20, timedelta(hours=1))
    campaign.transition("start", NOW)
    assert campaign.state is State.RUNNING
    with pytest.raises(FailedPrecondition, match="ab_test cannot change"):
        campaign.update(CampaignFields(ab_test=AbTest(50, timedelta(hours=1))), {"ab_test"}, NOW)


def test_the_ab_test_maps_to_and_from_protobuf_with_its_decision():
    from marketing.campaign.v1 import campaign_pb2

    from svc_campaign.domain.ab_test import Decision
    from svc_campaign.entrypoints.mapping import campaign_to_proto, fields_from_proto

    message = campaign_pb2.Campaign(display_name="x", ab_test=campaign_pb2.AbTest(
        test_share_percent=20, goal_metric=campaign_pb2.AbTest.GOAL_METRIC_OPENS, decide_when_significant=True))
    message.ab_test.wait.FromTimedelta(timedelta(minutes=5))
    fields = fields_from_proto(message)
    assert fields.ab_test == AbTest(20, timedelta(minutes=5), ab_test.GoalMetric.OPENS, True)
    assert fields_from_proto(campaign_pb2.Campaign(display_name="x", ab_test=campaign_pb2.AbTest(
        test_share_percent=20))).ab_test.goal_metric is ab_test.GoalMetric.CLICKS  # unspecified: clicks
    campaign = Campaign.create("acme", "c1", fields, NOW)
    decision = Decision("b", Reason.NO_DATA, LATER, 1.0, "a", (VariantFigures("a", 5, 4, 0), VariantFigures("b", 6)))
    shown = campaign_to_proto(campaign, decision)
    assert shown.ab_test == message.ab_test
    assert (shown.ab_test_decision.winner, shown.ab_test_decision.reason, shown.ab_test_decision.control) == (
        "b", campaign_pb2.AbTestDecision.REASON_NO_DATA, "a")
    assert shown.ab_test_decision.decide_time.ToDatetime(tzinfo=UTC) == LATER
    assert [(f.variant, f.sent, f.delivered) for f in shown.ab_test_decision.variants] == [("a", 5, 4), ("b", 6, 0)]
    assert not campaign_to_proto(campaign).HasField("ab_test_decision")


def test_with_no_decide_time_only_a_significant_result_decides():
    assert decide(("a", "b"), figures(("a", 10, 1), ("b", 10, 5)), LATER, None, True) is None
    found = figures(("a", 500, 20), ("b", 500, 60))
    assert decide(("a", "b"), found, LATER, None, True).reason is Reason.SIGNIFICANT
    run = ab_test.AbTestRun.of(AbTest(20, timedelta(0), decide_when_significant=True))
    run.start_waiting(NOW)
    assert run.decide_time is None and run.next_check(NOW) == NOW + ab_test.POLL
