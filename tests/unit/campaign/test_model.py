"""The campaign aggregate: creation invariants, the lifecycle state machine,
launch readiness, per-state update rules, etags, recorded events and replay
(the aggregate folded back from its events)."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from svc_kit.errors import Aborted, FailedPrecondition, InvalidArgument

from svc_campaign.domain.events import CampaignEvent
from svc_campaign.domain.model import Campaign, CampaignFields
from svc_campaign.domain.values import Budget, Channel, ChannelAllocation, ContentRef, Money, Schedule, State
from tests.fakes import NOW, ready_fields

S = State
LATER = NOW + timedelta(hours=1)


def make(state: State = State.DRAFT, data: CampaignFields | None = None, workspace: str = "acme",
         campaign_id: str = "spring") -> Campaign:
    """A campaign in any state, as the repository would load it (no events)."""
    return Campaign(workspace, campaign_id, data or ready_fields(workspace), state, NOW, NOW, NOW, version=3)


def violation_fields(error: InvalidArgument | FailedPrecondition) -> list[str]:
    return [v.field for v in error.violations]


def create_error(data: CampaignFields, workspace: str = "acme") -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        Campaign.create(workspace, "spring", data, NOW)
    return caught.value


# -- creation -------------------------------------------------------------------------------------------


def test_create_makes_a_draft_at_version_one_and_records_the_creation():
    campaign = Campaign.create("acme", "spring", ready_fields(), NOW)

    assert (campaign.state, campaign.version, campaign.deleted) == (State.DRAFT, 1, False)
    assert campaign.create_time == campaign.update_time == campaign.state_time == NOW
    assert [(e.type, e.workspace, e.campaign_id, e.version, e.occurred_at, e.data) for e in campaign.events] == [
        ("campaign_created", "acme", "spring", 1, NOW, {"fields": ready_fields()})]
    assert len(campaign.events[0].event_id) == 26


def test_a_draft_needs_nothing_but_a_display_name():
    campaign = Campaign.create("acme", "bare", CampaignFields(display_name="Bare"), NOW)
    assert campaign.state is State.DRAFT


@pytest.mark.parametrize("name", ["", "   "])
def test_display_name_is_required(name):
    error = create_error(ready_fields(display_name=name))
    assert violation_fields(error) == ["campaign.display_name"]
    assert "required" in error.message


def test_budget_allocations_may_not_exceed_the_total():
    budget = Budget(Money("EUR", Decimal("100")),
                    (ChannelAllocation(Channel.EMAIL, Money("EUR", Decimal("60"))),
                     ChannelAllocation(Channel.SMS, Money("EUR", Decimal("40.000000001")))))
    error = create_error(ready_fields(budget=budget))
    assert violation_fields(error) == ["campaign.budget.allocations"]
    assert "100.000000001 EUR" in error.message and "100 EUR" in error.message


def test_budget_allocations_may_use_the_whole_total():
    budget = Budget(Money("EUR", Decimal("100")),
                    (ChannelAllocation(Channel.EMAIL, Money("EUR", Decimal("60"))),
                     ChannelAllocation(Channel.SMS, Money("EUR", Decimal("40")))))
    assert Campaign.create("acme", "spring", ready_fields(budget=budget), NOW).fields.budget == budget


def test_allocation_in_another_currency_is_refused():
    budget = Budget(Money("EUR", Decimal("100")), (ChannelAllocation(Channel.EMAIL, Money("USD", Decimal("10"))),))
    error = create_error(ready_fields(budget=budget))
    assert violation_fields(error) == ["campaign.budget.allocations[0].amount.currency_code"]
    assert "USD differs from the budget's EUR" in error.message


@pytest.mark.parametrize(("budget", "field"), [
    (Budget(Money("eur", Decimal("1"))), "campaign.budget.total.currency_code"),
    (Budget(Money("EUR", Decimal("-1"))), "campaign.budget.total"),
    (Budget(Money("EUR", Decimal("10")), (ChannelAllocation(Channel.SMS, Money("EUR", Decimal("-1"))),)),
     "campaign.budget.allocations[0].amount"),
    (Budget(Money("EUR", Decimal("10")), (ChannelAllocation(Channel.SMS, Money("EUR", Decimal("1"))),
                                          ChannelAllocation(Channel.SMS, Money("EUR", Decimal("1"))))),
     "campaign.budget.allocations[1].channel"),
])
def test_bad_money_is_refused(budget, field):
    assert violation_fields(create_error(ready_fields(budget=budget))) == [field]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe/../etc/passwd", "not a zone"])
def test_time_zone_must_be_an_iana_zone(zone):
    schedule = Schedule(NOW + timedelta(days=1), NOW + timedelta(days=2), zone)
    error = create_error(ready_fields(schedule=schedule))
    assert violation_fields(error) == ["campaign.schedule.time_zone"]


@pytest.mark.parametrize("length", [timedelta(0), timedelta(seconds=-1)])
def test_end_must_come_after_start(length):
    start = NOW + timedelta(days=1)
    error = create_error(ready_fields(schedule=Schedule(start, start + length, "UTC")))
    assert violation_fields(error) == ["campaign.schedule.end_time"]


def test_references_to_another_workspace_are_refused():
    data = ready_fields(
        target_segments=("workspaces/acme/segments/vip", "workspaces/globex/segments/all"),
        contents=(ContentRef(Channel.EMAIL, "workspaces/globex/templates/spring-email"),
                  ContentRef(Channel.SMS, "workspaces/acme/templates/spring-sms")),
    )
    error = create_error(data)
    assert violation_fields(error) == ["campaign.target_segments[1]", "campaign.contents[0].template"]
    assert all("must belong to workspace 'acme'" in v.description for v in error.violations)


@pytest.mark.parametrize(("segments", "field"), [
    (("workspaces/acme/templates/vip",), "campaign.target_segments[0]"),  # wrong collection
    (("vip",), "campaign.target_segments[0]"),
    (("workspaces/acme/segments/vip", "workspaces/acme/segments/vip"), "campaign.target_segments[1]"),
])
def test_malformed_or_repeated_references_are_refused(segments, field):
    assert violation_fields(create_error(ready_fields(target_segments=segments))) == [field]


def test_a_channel_may_have_one_content():
    contents = (ContentRef(Channel.EMAIL, "workspaces/acme/templates/a"),
                ContentRef(Channel.EMAIL, "workspaces/acme/templates/b"))
    assert violation_fields(create_error(ready_fields(contents=contents))) == ["campaign.contents[1].channel"]


def test_workspace_id_is_checked():
    assert violation_fields(create_error(CampaignFields(display_name="X"), workspace="Acme")) == ["parent"]


def test_every_violation_is_reported_at_once():
    data = ready_fields(display_name="", target_segments=("vip",), contents=(
        ContentRef(Channel.EMAIL, "workspaces/globex/templates/t"),))
    error = create_error(data)
    assert violation_fields(error) == ["campaign.display_name", "campaign.target_segments[0]",
                                       "campaign.contents[0].template"]
    assert "(and 2 more)" in error.message


# -- the state machine ----------------------------------------------------------------------------------

# Written out independently of model.TRANSITIONS, so a change to the table must change this test too.
ALLOWED = {
    ("schedule", S.DRAFT): S.SCHEDULED,
    ("unschedule", S.SCHEDULED): S.DRAFT,
    ("start", S.SCHEDULED): S.RUNNING,
    ("pause", S.RUNNING): S.PAUSED,
    ("resume", S.PAUSED): S.RUNNING,
    ("complete", S.RUNNING): S.COMPLETED,
    ("complete", S.PAUSED): S.COMPLETED,
    ("cancel", S.DRAFT): S.CANCELLED,
    ("cancel", S.SCHEDULED): S.CANCELLED,
    ("cancel", S.RUNNING): S.CANCELLED,
    ("cancel", S.PAUSED): S.CANCELLED,
    ("fail", S.RUNNING): S.FAILED,  # the upkeep's, once the launch failed for good
    ("fail", S.PAUSED): S.FAILED,
}
ACTIONS = ["schedule", "unschedule", "start", "pause", "resume", "complete", "cancel", "fail"]
EVENT_TYPES = {"schedule": "campaign_scheduled", "unschedule": "campaign_unscheduled", "start": "campaign_started",
               "pause": "campaign_paused", "resume": "campaign_resumed", "complete": "campaign_completed",
               "cancel": "campaign_cancelled", "fail": "campaign_failed"}
ALLOWED_CASES = sorted(ALLOWED, key=str)
REFUSED_CASES = [(a, s) for a in ACTIONS for s in State if (a, s) not in ALLOWED]


def test_the_cases_cover_every_action_from_every_state():
    assert len(ALLOWED_CASES) + len(REFUSED_CASES) == len(ACTIONS) * len(State) == 56


@pytest.mark.parametrize(("action", "state"), ALLOWED_CASES, ids=lambda x: getattr(x, "value", x))
def test_allowed_transition(action, state):
    campaign = make(state)
    etag = campaign.etag

    campaign.transition(action, LATER)

    target = ALLOWED[(action, state)]
    assert campaign.state is target
    assert campaign.state_time == campaign.update_time == LATER
    assert campaign.create_time == NOW
    assert campaign.version == 4 and campaign.etag != etag
    run = {"run": 1, "occurrence_time": LATER} if action == "start" else {}  # a manual start is run 1, now
    assert [(e.type, e.version, e.occurred_at, e.data) for e in campaign.events] == [
        (EVENT_TYPES[action], 4, LATER, {"from_state": state.value, "to_state": target.value} | run)]


@pytest.mark.parametrize(("action", "state"), REFUSED_CASES, ids=lambda x: getattr(x, "value", x))
def test_refused_transition(action, state):
    campaign = make(state)

    with pytest.raises(FailedPrecondition) as caught:
        campaign.transition(action, LATER)

    assert f"cannot {action} a campaign in state {state.value}" in caught.value.message
    assert caught.value.metadata == {"state": state.value, "action": action}
    assert (campaign.state, campaign.version, campaign.state_time, campaign.events) == (state, 3, NOW, [])


def test_final_states():
    assert {s for s in State if s.is_final} == {State.COMPLETED, State.CANCELLED, State.FAILED}


@pytest.mark.parametrize("action", ACTIONS)
def test_failed_is_terminal_and_every_lifecycle_call_names_the_state(action):
    campaign = make(S.FAILED)
    with pytest.raises(FailedPrecondition) as caught:
        campaign.transition(action, LATER)
    assert f"cannot {action} a campaign in state FAILED" in caught.value.message
    assert caught.value.metadata == {"state": "FAILED", "action": action}
    assert campaign.events == [] and campaign.state is S.FAILED


def test_a_whole_lifecycle():
    campaign = Campaign.create("acme", "spring", ready_fields(), NOW)
    for action in ["schedule", "unschedule", "schedule", "start", "pause", "resume", "pause", "complete"]:
        campaign.transition(action, LATER)
    assert campaign.state is State.COMPLETED
    assert campaign.version == 9
    assert [e.version for e in campaign.events] == list(range(1, 10))
    assert len({e.event_id for e in campaign.events}) == 9  # consumers deduplicate on the event id


# -- launch readiness -----------------------------------------------------------------------------------


def schedule_error(campaign: Campaign, now=NOW) -> FailedPrecondition:
    with pytest.raises(FailedPrecondition) as caught:
        campaign.transition("schedule", now)
    assert campaign.state is State.DRAFT and campaign.version == 3 and campaign.events == []
    return caught.value


def test_schedule_lists_everything_a_bare_draft_misses():
    error = schedule_error(make(data=CampaignFields(display_name="Bare")))

    assert violation_fields(error) == ["campaign.channels", "campaign.target_segments",
                                       "campaign.schedule.start_time", "campaign.schedule.time_zone"]
    assert error.message.startswith("the campaign cannot be scheduled: campaign.channels: ")
    assert error.metadata == {"state": "DRAFT"}


def test_schedule_needs_content_for_every_channel_and_only_for_channels():
    data = ready_fields(channels=(Channel.EMAIL, Channel.PUSH),
                        budget=None,
                        contents=(ContentRef(Channel.EMAIL, "workspaces/acme/templates/a"),
                                  ContentRef(Channel.SMS, "workspaces/acme/templates/b")))
    error = schedule_error(make(data=data))
    assert [(v.field, v.description) for v in error.violations] == [
        ("campaign.contents", "no content for channel PUSH"),
        ("campaign.contents", "content for SMS, which is not a channel of the campaign"),
    ]


def test_schedule_refuses_budget_for_a_channel_the_campaign_does_not_use():
    data = ready_fields(channels=(Channel.EMAIL,), contents=ready_fields().contents[:1])
    error = schedule_error(make(data=data))
    assert violation_fields(error) == ["campaign.budget.allocations"]
    assert "allocation for SMS" in error.message


@pytest.mark.parametrize("start", [NOW, NOW - timedelta(seconds=1)])
def test_schedule_needs_a_start_in_the_future(start):
    error = schedule_error(make(data=ready_fields(start=start)))
    assert [(v.field, v.description) for v in error.violations] == [
        ("campaign.schedule.start_time", "must lie in the future")]


def test_a_ready_draft_can_be_scheduled():
    campaign = make(data=ready_fields(start=NOW + timedelta(seconds=1)))
    campaign.transition("schedule", NOW)
    assert campaign.state is State.SCHEDULED


# -- updates --------------------------------------------------------------------------------------------

EDITABLE = {  # written out independently of model.EDITABLE
    S.DRAFT: {"display_name", "description", "channels", "schedule", "schedule.start_time", "schedule.end_time",
              "schedule.time_zone", "budget", "target_segments", "contents", "labels"},
    S.RUNNING: {"display_name", "description", "labels", "budget", "schedule.end_time"},
    S.COMPLETED: {"description", "labels"},
}
EDITABLE[S.SCHEDULED] = EDITABLE[S.DRAFT]
EDITABLE[S.PAUSED] = EDITABLE[S.RUNNING]
EDITABLE[S.CANCELLED] = EDITABLE[S.COMPLETED]
EDITABLE[S.FAILED] = EDITABLE[S.COMPLETED]

BASE = ready_fields()
START = BASE.schedule.start_time
# One change per path that keeps the campaign valid and launch-ready, as (mask path, incoming fields).
CHANGES = {
    "display_name": replace(BASE, display_name="Summer sale"),
    "description": replace(BASE, description="Thirty percent off"),
    "channels": replace(BASE, channels=(Channel.SMS, Channel.EMAIL)),
    "schedule": replace(BASE, schedule=Schedule(START + timedelta(days=1), START + timedelta(days=9), "UTC")),
    "schedule.start_time": replace(BASE, schedule=Schedule(START + timedelta(hours=1))),
    "schedule.end_time": replace(BASE, schedule=Schedule(end_time=START + timedelta(days=30))),
    "schedule.time_zone": replace(BASE, schedule=Schedule(time_zone="America/New_York")),
    "budget": replace(BASE, budget=Budget(Money("EUR", Decimal("5000")), BASE.budget.allocations)),
    "target_segments": replace(BASE, target_segments=(*BASE.target_segments, "workspaces/acme/segments/new")),
    "contents": replace(BASE, contents=(ContentRef(Channel.EMAIL, "workspaces/acme/templates/other"),
                                        BASE.contents[1])),
    "labels": replace(BASE, labels={"team": "brand", "tier": "gold"}),
}
UPDATE_CASES = [(state, path) for state in State for path in CHANGES]


@pytest.mark.parametrize(("state", "path"), UPDATE_CASES, ids=lambda x: getattr(x, "value", x))
def test_update_rules_per_state(state, path):
    campaign = make(state)
    before = campaign.fields

    if path in EDITABLE[state]:
        campaign.update(CHANGES[path], {path}, LATER)
        assert campaign.fields != before
        assert campaign.version == 4 and campaign.update_time == LATER
        assert campaign.state is state and campaign.state_time == NOW
        (event,) = campaign.events
        assert event.type == "campaign_updated" and event.version == 4
        assert path in event.data["paths"]
    else:
        with pytest.raises(FailedPrecondition) as caught:
            campaign.update(CHANGES[path], {path}, LATER)
        assert f"campaign is {state.value}: {path}" in caught.value.message
        assert caught.value.metadata == {"state": state.value}
        assert (campaign.fields, campaign.version, campaign.events) == (before, 3, [])


def test_running_campaign_cannot_change_channels():
    campaign = make(State.RUNNING)
    with pytest.raises(FailedPrecondition, match=r"campaign is RUNNING: channels cannot change in this state"):
        campaign.update(replace(BASE, channels=(Channel.EMAIL,)), {"channels"}, LATER)


def test_a_schedule_part_changes_only_that_part():
    campaign = make(State.RUNNING)
    new_end = START + timedelta(days=30)
    campaign.update(replace(BASE, schedule=Schedule(end_time=new_end)), {"schedule.end_time"}, LATER)
    assert campaign.fields.schedule == replace(BASE.schedule, end_time=new_end)
    assert campaign.events[0].data == {"paths": ["schedule", "schedule.end_time"],
                                       "fields": replace(BASE, schedule=replace(BASE.schedule, end_time=new_end))}


def test_update_changes_only_the_masked_fields():
    campaign = make()
    incoming = replace(BASE, display_name="Summer sale", description="ignored", labels={})
    campaign.update(incoming, {"display_name"}, LATER)
    assert campaign.fields == replace(BASE, display_name="Summer sale")
    # The event carries all the fields as the change left them, not the incoming ones.
    assert campaign.events[0].data == {"paths": ["display_name"],
                                       "fields": replace(BASE, display_name="Summer sale")}


def test_update_that_changes_nothing_is_not_a_change():
    campaign = make(State.COMPLETED)
    campaign.update(BASE, {"channels", "display_name", "schedule"}, LATER)
    assert (campaign.version, campaign.update_time, campaign.events) == (3, NOW, [])


def test_update_keeps_the_invariants():
    campaign = make()
    with pytest.raises(InvalidArgument) as caught:
        campaign.update(replace(BASE, display_name="", target_segments=("vip",)),
                        {"display_name", "target_segments"}, LATER)
    assert violation_fields(caught.value) == ["campaign.display_name", "campaign.target_segments[0]"]
    assert campaign.fields == BASE and campaign.version == 3


def test_scheduled_update_must_keep_the_campaign_launch_ready():
    campaign = make(State.SCHEDULED)
    with pytest.raises(FailedPrecondition) as caught:
        campaign.update(replace(BASE, target_segments=(), channels=(Channel.EMAIL,)),
                        {"target_segments", "channels"}, LATER)
    assert caught.value.message.startswith("the campaign is SCHEDULED, so the change must keep it ready: ")
    assert violation_fields(caught.value) == ["campaign.target_segments", "campaign.contents",
                                              "campaign.budget.allocations"]
    assert campaign.fields == BASE and campaign.version == 3


def test_the_same_update_is_fine_on_a_draft():
    campaign = make(State.DRAFT)
    campaign.update(replace(BASE, target_segments=()), {"target_segments"}, LATER)
    assert campaign.fields.target_segments == ()


def test_scheduled_campaign_whose_start_has_passed_can_still_be_edited():
    campaign = make(State.SCHEDULED)
    after_start = START + timedelta(minutes=5)
    campaign.update(replace(BASE, display_name="Renamed"), {"display_name"}, after_start)
    assert campaign.fields.display_name == "Renamed"


# -- delete ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [S.DRAFT, S.COMPLETED, S.CANCELLED, S.FAILED])
def test_delete_allowed(state):
    campaign = make(state)
    etag = campaign.etag
    campaign.delete(LATER)
    assert campaign.deleted and campaign.version == 4 and campaign.etag != etag
    assert campaign.update_time == LATER
    assert (campaign.state, campaign.state_time, campaign.fields) == (state, NOW, BASE)  # the last state stays
    assert [(e.type, e.version, e.occurred_at, e.data) for e in campaign.events] == [
        ("campaign_deleted", 4, LATER, {"last_state": state.value})]


@pytest.mark.parametrize("state", [S.SCHEDULED, S.RUNNING, S.PAUSED])
def test_delete_refused_while_live(state):
    campaign = make(state)
    with pytest.raises(FailedPrecondition, match=f"cannot delete a campaign in state {state.value}; cancel it"):
        campaign.delete(LATER)
    assert (campaign.events, campaign.version, campaign.deleted) == ([], 3, False)


# -- etags ----------------------------------------------------------------------------------------------


def test_etag_changes_on_every_change_and_only_then():
    campaign = Campaign.create("acme", "spring", ready_fields(), NOW)
    seen = {campaign.etag}
    campaign.update(replace(BASE, display_name="A"), {"display_name"}, LATER)
    seen.add(campaign.etag)
    campaign.update(replace(BASE, display_name="A"), {"display_name"}, LATER)  # no change
    assert campaign.etag in seen
    campaign.transition("schedule", LATER)
    seen.add(campaign.etag)
    campaign.update(replace(BASE, labels={"x": "y"}), {"labels"}, LATER)
    seen.add(campaign.etag)
    assert len(seen) == 4


def test_etag_is_stable_and_differs_between_campaigns():
    a, b = make(campaign_id="a"), make(campaign_id="b")
    assert a.etag == make(campaign_id="a").etag
    assert a.etag != b.etag
    assert make(workspace="globex", data=ready_fields("globex"), campaign_id="a").etag != a.etag


def test_check_etag():
    campaign = make()
    stale = campaign.etag
    campaign.check_etag(stale)
    campaign.check_etag("")  # no etag: no check
    campaign.transition("cancel", LATER)
    with pytest.raises(Aborted) as caught:
        campaign.check_etag(stale)
    assert stale in caught.value.message and campaign.etag in caught.value.message
    campaign.check_etag(campaign.etag)


# -- replay ---------------------------------------------------------------------------------------------

# Operations: ("update", mask path, incoming fields), ("delete",) or (action,). Each makes one event.
LIFECYCLES = {
    "long": [
        ("update", "display_name", replace(BASE, display_name="Summer sale")),
        ("update", "schedule.start_time", replace(BASE, schedule=Schedule(START + timedelta(hours=2)))),
        ("update", "schedule.time_zone", replace(BASE, schedule=Schedule(time_zone="America/New_York"))),
        ("update", "labels", replace(BASE, labels={"team": "brand"})),
        ("schedule",),
        ("update", "schedule.end_time", replace(BASE, schedule=Schedule(end_time=START + timedelta(days=20)))),
        ("unschedule",),
        ("update", "budget", CHANGES["budget"]),
        ("update", "schedule", CHANGES["schedule"]),
        ("schedule",),
        ("start",),
        ("update", "schedule.end_time", replace(BASE, schedule=Schedule(end_time=START + timedelta(days=30)))),
        ("pause",),
        ("update", "description", CHANGES["description"]),
        ("resume",),
        ("pause",),
        ("complete",),
        ("update", "labels", replace(BASE, labels={})),
        ("delete",),
    ],
    "cancel a draft": [("cancel",), ("delete",)],
    "cancel a scheduled campaign": [("schedule",), ("cancel",), ("update", "description", CHANGES["description"]),
                                    ("delete",)],
    "cancel a running campaign": [("schedule",), ("start",), ("cancel",), ("delete",)],
    "cancel a paused campaign": [("schedule",), ("start",), ("pause",), ("cancel",), ("delete",)],
    "complete a running campaign": [("schedule",), ("start",), ("complete",), ("delete",)],
    "a running campaign fails": [("schedule",), ("start",), ("fail",), ("update", "labels", replace(BASE, labels={})),
                                 ("delete",)],
    "a paused campaign fails": [("schedule",), ("start",), ("pause",), ("fail",), ("delete",)],
}


def snapshot(campaign: Campaign) -> dict:
    """Every field of the aggregate but its pending events."""
    return {f.name: copy.deepcopy(getattr(campaign, f.name)) for f in dataclasses.fields(Campaign)
            if f.name != "events"}


def run(operations) -> tuple[Campaign, list[dict]]:
    """A new campaign put through `operations` (a minute apart); the snapshot after each of its events."""
    campaign = Campaign.create("acme", "spring", BASE, NOW)
    snapshots = [snapshot(campaign)]
    for minute, (operation, *args) in enumerate(operations, start=1):
        now = NOW + timedelta(minutes=minute)
        if operation == "update":
            path, incoming = args
            campaign.update(incoming, {path}, now)
        elif operation == "delete":
            campaign.delete(now)
        else:
            campaign.transition(operation, now)
        assert len(campaign.events) == len(snapshots) + 1, f"{operation} {args[:1]} made no event"
        snapshots.append(snapshot(campaign))
    return campaign, snapshots


def test_the_lifecycles_take_every_transition_and_end_deleted():
    action_of = {event_type: action for action, event_type in EVENT_TYPES.items()}
    taken = set()
    for operations in LIFECYCLES.values():
        campaign, _ = run(operations)
        assert campaign.deleted
        taken |= {(action_of[e.type], State(e.data["from_state"])) for e in campaign.events if e.type in action_of}
    assert taken == set(ALLOWED)


@pytest.mark.parametrize("lifecycle", LIFECYCLES)
def test_replay_of_all_events_equals_the_live_aggregate(lifecycle):
    campaign, _ = run(LIFECYCLES[lifecycle])

    replayed = Campaign.replay(campaign.events)

    assert snapshot(replayed) == snapshot(campaign)
    assert replayed.deleted and replayed.etag == campaign.etag
    assert replayed.events == []  # replay records nothing new


@pytest.mark.parametrize("lifecycle", LIFECYCLES)
def test_replay_of_a_prefix_equals_the_aggregate_as_it_was_after_that_many_events(lifecycle):
    campaign, snapshots = run(LIFECYCLES[lifecycle])
    assert len(snapshots) == len(campaign.events)
    for count in range(1, len(campaign.events) + 1):
        assert snapshot(Campaign.replay(campaign.events[:count])) == snapshots[count - 1], f"after {count} events"


def test_replay_does_not_change_the_events():
    campaign, _ = run(LIFECYCLES["long"])
    events = copy.deepcopy(campaign.events)
    Campaign.replay(campaign.events)
    assert campaign.events == events


def test_replay_of_no_history_is_none():
    assert Campaign.replay([]) is None


def test_apply_refuses_an_event_out_of_order():
    campaign, _ = run([("schedule",), ("start",)])
    created, scheduled, started = campaign.events
    replayed = Campaign.replay([created])
    before = snapshot(replayed)

    for wrong in (started, created):  # a version skipped; a version already applied
        with pytest.raises(ValueError, match=f"event version {wrong.version} does not follow 1"):
            replayed.apply(wrong)
        assert snapshot(replayed) == before

    replayed.apply(scheduled)
    with pytest.raises(ValueError, match="event version 2 does not follow 2"):
        replayed.apply(scheduled)  # the same event twice
    assert (replayed.state, replayed.version) == (State.SCHEDULED, 2)
    with pytest.raises(ValueError, match="event version 3 does not follow 1"):
        Campaign.replay([created, started])  # a history with a gap


def test_apply_refuses_an_unknown_event_type():
    campaign = Campaign.create("acme", "spring", BASE, NOW)
    before = snapshot(campaign)
    stranger = CampaignEvent("01" * 13, "campaign_renamed", "acme", "spring", 2, LATER, {})
    with pytest.raises(ValueError, match="unknown campaign event campaign_renamed"):
        campaign.apply(stranger)
    assert snapshot(campaign) == before


def test_replay_refuses_a_history_not_starting_with_the_creation():
    campaign, _ = run([("schedule",), ("start",)])
    with pytest.raises(ValueError, match="history of spring starts with campaign_scheduled"):
        Campaign.replay(campaign.events[1:])
