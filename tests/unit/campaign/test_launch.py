"""The launch saga with fake peers: pages, idempotency keys, transient and
permanent failures, pause and resume, and a launch resumed after a crash
that hands a page over twice without sending anything twice; pause, resume
and cancel reaching the messages in the notify service, retried while it is
out of reach."""

from __future__ import annotations

import asyncio

import pytest
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from svc_kit.channels import Channel

from svc_campaign.domain.launch import (CancelOutcome, Launch, LaunchState, MessagesAction, Step, StepOutcome,
                                        TargetState)
from svc_campaign.service_layer.launch import LaunchRunner
from svc_campaign.service_layer.ports import PeerRefused, PeerUnavailable, Snapshot

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


class FakeStore:
    def __init__(self, launch: Launch):
        self.launch = launch

    def due(self, now):
        ready = ((self.launch.state in (LaunchState.RUNNING, LaunchState.COMPENSATING)
                  or self.launch.pending_action is not None)
                 and self.launch.next_attempt_time is not None and self.launch.next_attempt_time <= now)
        return [replace(self.launch, targets=list(self.launch.targets))] if ready else []

    def save(self, launch):
        self.launch = replace(launch, version=launch.version + 1)
        return self.launch


class FakeAudience:
    def __init__(self, members: dict[str, list[str]]):
        self.members_of = members
        self.snapshots = {}
        self.failures: list[Exception] = []

    async def snapshot(self, segment, channel, snapshot_id, campaign):
        if self.failures and (failure := self.failures.pop(0)) is not None:
            raise failure
        if segment not in self.members_of:
            raise PeerRefused(f"{segment} not found")
        name = f"{segment}/snapshots/{snapshot_id}"
        self.snapshots[name] = self.members_of[segment]
        return Snapshot(name, len(self.members_of[segment]))

    async def members(self, snapshot, cursor, page_size):
        everyone = self.snapshots[snapshot]
        start = int(cursor or 0)
        page = everyone[start:start + page_size]
        return page, str(start + page_size) if start + page_size < len(everyone) else ""

    async def release(self, snapshot):
        if self.failures:
            raise self.failures.pop(0)
        self.snapshots.pop(snapshot, None)


class FakeContent:
    def __init__(self):
        self.rendered: list[tuple[str, str]] = []  # (template, profile)
        self.failures: list[Exception | None] = []  # None: that render goes through

    async def render(self, template, profile, campaign):
        if self.failures and (failure := self.failures.pop(0)) is not None:
            raise failure
        self.rendered.append((template, profile))


class FakeNotify:
    def __init__(self):
        self.sent: dict[str, str] = {}
        self.calls = 0
        self.actions: list[tuple[str, str]] = []  # (what, campaign)
        self.held: set[str] = set()
        self.cancelled: set[str] = set()  # keys
        self.failures: list[Exception] = []  # raised by the next hold, release or cancel calls
        self.send_failures: list[Exception | None] = []  # raised by the next sends (None: that one goes through)

    def _maybe_fail(self):
        if self.failures:
            raise self.failures.pop(0)

    async def cancel(self, workspace, campaign):
        self._maybe_fail()
        self.actions.append(("cancel", campaign))
        waiting = [k for k in self.sent if k not in self.cancelled]
        self.cancelled.update(waiting[5:])  # the first five were handed to a provider already
        return CancelOutcome(len(waiting[5:]), min(5, len(self.sent)))

    async def hold(self, workspace, campaign):
        self._maybe_fail()
        self.actions.append(("hold", campaign))
        self.held.add(campaign)

    async def release(self, workspace, campaign):
        self._maybe_fail()
        self.actions.append(("release", campaign))
        self.held.discard(campaign)

    def queued(self) -> list[str]:
        """Keys still waiting in notify: neither cancelled nor among the five handed to a provider."""
        return [k for k in list(self.sent)[5:] if k not in self.cancelled]

    async def send(self, workspace, campaign, channel, template, messages):
        if self.send_failures and (failure := self.send_failures.pop(0)) is not None:
            raise failure
        self.calls += 1
        new = [m for m in messages if m.idempotency_key not in self.sent]
        for m in new:
            self.sent[m.idempotency_key] = m.recipient
        return len(new), len(messages) - len(new), 0


def profiles(prefix: str, count: int) -> list[str]:
    return [f"workspaces/acme/profiles/{prefix}{i}" for i in range(count)]


def run(runner: LaunchRunner, store: FakeStore, clock: Clock, passes: int = 50) -> None:
    for _ in range(passes):
        if store.launch.state not in (LaunchState.RUNNING, LaunchState.COMPENSATING):
            return
        if not asyncio.run(runner.run_due()):
            clock.now += timedelta(seconds=61)


def test_every_member_of_every_target_gets_one_message():
    clock = Clock()
    launch = Launch.plan("acme", "c1", ("workspaces/acme/segments/a", "workspaces/acme/segments/b"),
                         {Channel.EMAIL: "workspaces/acme/templates/t"}, NOW)
    store, audience, notify = FakeStore(launch), FakeAudience({
        "workspaces/acme/segments/a": profiles("p", 1200),
        "workspaces/acme/segments/b": profiles("p", 300) + profiles("q", 100)}), FakeNotify()
    runner = LaunchRunner(store, audience, notify, clock, FakeContent(), page_size=500)
    run(runner, store, clock)
    done = store.launch
    assert done.state is LaunchState.COMPLETED
    assert [(t.total, t.sent, t.duplicates, t.state) for t in done.targets] == [
        (1200, 1200, 0, TargetState.DONE), (400, 100, 300, TargetState.DONE)]
    assert len(notify.sent) == 1300 and done.progress == (1600, 1600, 0)
    assert "c1:p7:EMAIL:launch" in notify.sent


def test_a_transient_problem_waits_and_a_permanent_one_fails_the_launch():
    clock = Clock()
    launch = Launch.plan("acme", "c2", ("workspaces/acme/segments/gone", "workspaces/acme/segments/a"),
                         {Channel.SMS: "workspaces/acme/templates/t"}, NOW)
    audience = FakeAudience({"workspaces/acme/segments/a": profiles("p", 10)})
    audience.failures = [PeerUnavailable("audience: UNAVAILABLE"), PeerUnavailable("audience: UNAVAILABLE")]
    store, notify = FakeStore(launch), FakeNotify()
    runner = LaunchRunner(store, audience, notify, clock, FakeContent())
    asyncio.run(runner.run_due())
    assert store.launch.last_error == "audience: UNAVAILABLE" and store.launch.attempts == 1
    assert store.launch.next_attempt_time == NOW + timedelta(seconds=1)
    assert asyncio.run(runner.run_due()) == 0  # not due yet
    clock.now += timedelta(seconds=1)
    asyncio.run(runner.run_due())
    assert store.launch.next_attempt_time == clock.now + timedelta(seconds=2)  # backing off
    run(runner, store, clock)
    gone, kept = store.launch.targets
    assert gone.state is TargetState.FAILED and "not found" in gone.error
    assert kept.state is TargetState.PENDING and kept.sent == 0 and not notify.sent
    assert store.launch.state is LaunchState.FAILED and store.launch.failed_step is Step.FREEZE_SNAPSHOT


def test_pause_holds_the_sending_and_resume_carries_on():
    clock = Clock()
    launch = Launch.plan("acme", "c3", ("workspaces/acme/segments/a",), {Channel.EMAIL: "t"}, NOW)
    store, notify = FakeStore(launch), FakeNotify()
    runner = LaunchRunner(store, FakeAudience({"workspaces/acme/segments/a": profiles("p", 1000)}), notify, clock,
                          FakeContent(), page_size=100)
    asyncio.run(runner.run_due())  # snapshot
    asyncio.run(runner.run_due())  # preflight render
    asyncio.run(runner.run_due())  # first page
    store.launch.campaign_changed("campaign_paused", clock.now)
    assert asyncio.run(runner.run_due()) == 1 and notify.held == {"workspaces/acme/campaigns/c3"}  # the hold
    assert store.launch.messages_held
    assert asyncio.run(runner.run_due()) == 0 and len(notify.sent) == 100
    store.launch.campaign_changed("campaign_resumed", clock.now)
    run(runner, store, clock)
    assert len(notify.sent) == 1000 and store.launch.state is LaunchState.COMPLETED
    assert [a for a, _ in notify.actions] == ["hold", "release"] and notify.held == set()
    assert not store.launch.messages_held


def test_a_page_handed_over_again_after_a_crash_sends_nothing_twice():
    clock = Clock()
    launch = Launch.plan("acme", "c4", ("workspaces/acme/segments/a",), {Channel.EMAIL: "t"}, NOW)
    store, notify = FakeStore(launch), FakeNotify()
    runner = LaunchRunner(store, FakeAudience({"workspaces/acme/segments/a": profiles("p", 250)}), notify, clock,
                          FakeContent(), page_size=100)
    for _ in range(3):  # snapshot, preflight render, first page
        asyncio.run(runner.run_due())
    before_crash = store.launch
    asyncio.run(runner.run_due())
    store.launch = before_crash  # the second page went out, but its step was never saved
    run(runner, store, clock)
    target = store.launch.targets[0]
    assert len(notify.sent) == 250 and (target.sent, target.duplicates) == (150, 100)  # page 2 counted once each way


def test_cancel_ends_the_launch_and_nothing_restarts_it():
    launch = Launch.plan("acme", "c5", ("workspaces/acme/segments/a",), {Channel.EMAIL: "t"}, NOW)
    launch.campaign_changed("campaign_cancelled", NOW)
    launch.campaign_changed("campaign_resumed", NOW)
    assert launch.state is LaunchState.CANCELLED and launch.current() is None
    empty = Launch.plan("acme", "c6", (), {Channel.EMAIL: "t"}, NOW)
    assert empty.next_step() == (Step.INIT_TRACKING, None)
    empty.tracking_done(NOW)
    assert empty.state is LaunchState.COMPLETED


def test_past_the_schedule_end_nothing_more_is_handed_over():
    clock = Clock()
    launch = Launch.plan("acme", "c4", ("workspaces/acme/segments/a",), {Channel.EMAIL: "t"}, NOW,
                         end_time=NOW + timedelta(minutes=1))
    store, notify = FakeStore(launch), FakeNotify()
    runner = LaunchRunner(store, FakeAudience({"workspaces/acme/segments/a": profiles("p", 300)}), notify, clock,
                          FakeContent(), page_size=100)
    asyncio.run(runner.run_due())  # snapshot
    asyncio.run(runner.run_due())  # preflight render
    asyncio.run(runner.run_due())  # first page
    clock.now += timedelta(minutes=1)
    run(runner, store, clock)
    (target,) = store.launch.targets
    assert store.launch.state is LaunchState.COMPLETED and store.launch.next_attempt_time is None
    assert target.state is TargetState.FAILED and "200 members not handed over" in target.error
    assert len(notify.sent) == 100


def started(campaign_id: str, members: int = 300):
    clock = Clock()
    launch = Launch.plan("acme", campaign_id, ("workspaces/acme/segments/a",), {Channel.EMAIL: "t"}, NOW)
    store, notify = FakeStore(launch), FakeNotify()
    runner = LaunchRunner(store, FakeAudience({"workspaces/acme/segments/a": profiles("p", members)}), notify,
                          clock, FakeContent(), page_size=100)
    return clock, store, notify, runner


def test_cancel_mid_launch_cancels_the_messages_in_notify_and_records_the_counts():
    clock, store, notify, runner = started("c7")
    asyncio.run(runner.run_due())  # snapshot
    asyncio.run(runner.run_due())  # preflight render
    asyncio.run(runner.run_due())  # first page: 100 messages in notify
    store.launch.campaign_changed("campaign_cancelled", clock.now)
    assert store.launch.pending_action is MessagesAction.CANCEL
    assert asyncio.run(runner.run_due()) == 1
    done = store.launch
    assert notify.actions == [("cancel", "workspaces/acme/campaigns/c7")] and len(notify.sent) == 100
    assert (done.state, done.pending_action, done.cancelled_messages, done.handed_over_messages) == (
        LaunchState.CANCELLED, None, 95, 5)
    assert done.next_attempt_time is None and asyncio.run(runner.run_due()) == 0
    done.campaign_changed("campaign_deleted", clock.now)  # deleting it later asks nothing more of notify
    assert done.pending_action is None


def test_a_cancel_after_the_launch_handed_everything_over_still_reaches_notify():
    clock, store, notify, runner = started("c8", members=150)
    run(runner, store, clock)
    assert store.launch.state is LaunchState.COMPLETED and len(notify.sent) == 150
    store.launch.campaign_changed("campaign_paused", clock.now)
    store.launch.campaign_changed("campaign_cancelled", clock.now)  # before the hold was made: cancel wins
    store.launch.campaign_changed("campaign_resumed", clock.now)  # (cannot happen; nothing undoes a cancel)
    asyncio.run(runner.run_due())
    assert notify.actions == [("cancel", "workspaces/acme/campaigns/c8")]
    assert store.launch.state is LaunchState.COMPLETED and store.launch.cancelled_messages == 145


def test_notify_out_of_reach_the_action_is_retried_with_backoff_until_it_answers():
    clock, store, notify, runner = started("c9")
    for _ in range(3):  # snapshot, preflight render, first page
        asyncio.run(runner.run_due())
    store.launch.campaign_changed("campaign_paused", clock.now)
    notify.failures = [PeerUnavailable("notify: UNAVAILABLE"), PeerRefused("notify: PERMISSION_DENIED")]
    asyncio.run(runner.run_due())
    assert store.launch.pending_action is MessagesAction.HOLD and store.launch.last_error == "notify: UNAVAILABLE"
    assert store.launch.state is LaunchState.PAUSED and asyncio.run(runner.run_due()) == 0  # backing off
    clock.now += timedelta(seconds=1)
    asyncio.run(runner.run_due())
    assert store.launch.last_error == "notify: PERMISSION_DENIED" and store.launch.attempts == 2
    clock.now += timedelta(seconds=2)
    asyncio.run(runner.run_due())
    assert store.launch.pending_action is None and store.launch.last_error == "" and notify.held
    assert asyncio.run(runner.run_due()) == 0 and len(notify.sent) == 100  # paused: no more pages


def test_lifecycle_events_map_to_messages_actions():
    launch = Launch.plan("acme", "c10", ("workspaces/acme/segments/a",), {Channel.EMAIL: "t"}, NOW)
    for event, action in [("campaign_paused", MessagesAction.HOLD), ("campaign_resumed", MessagesAction.RELEASE),
                          ("campaign_completed", MessagesAction.RELEASE), ("campaign_cancelled", MessagesAction.CANCEL),
                          ("campaign_resumed", MessagesAction.CANCEL)]:
        launch.campaign_changed(event, NOW)
        assert launch.pending_action is action, event
    launch.action_done(MessagesAction.CANCEL, NOW, CancelOutcome(3, 2))
    launch.action_done(MessagesAction.CANCEL, NOW, CancelOutcome(4, 1))  # a repeated call after a lost answer
    assert (launch.pending_action, launch.cancelled_messages, launch.handed_over_messages) == (None, 4, 1)


SEGMENTS = ("workspaces/acme/segments/a", "workspaces/acme/segments/b")


def saga(campaign_id: str):
    clock = Clock()
    launch = Launch.plan("acme", campaign_id, SEGMENTS, {Channel.EMAIL: "workspaces/acme/templates/t"}, NOW)
    store, notify, content = FakeStore(launch), FakeNotify(), FakeContent()
    audience = FakeAudience({SEGMENTS[0]: profiles("p", 250), SEGMENTS[1]: profiles("q", 250)})
    return clock, store, audience, notify, content, LaunchRunner(store, audience, notify, clock, content,
                                                                 page_size=100)


def fail_at(step: str, store, audience, notify, content):
    """Arms a failure for good at `step` (the step's first call after this one, or later ones)."""
    refused = PeerRefused(f"{step}: refused")
    if step == "first snapshot":
        audience.failures = [refused]
    elif step == "second snapshot":
        audience.failures = [None, refused]
    elif step == "first render":
        content.failures = [refused]
    elif step == "second render":
        content.failures = [None, refused]
    elif step == "first page":
        notify.send_failures = [refused]
    elif step == "a later page":
        notify.send_failures = [None, None, None, refused]


UNDO = [Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT]
# where -> the failed step, its target, the compensations made (only those of steps begun)
FAILED_STEP = {"first snapshot": (Step.FREEZE_SNAPSHOT, 0, []),
               "second snapshot": (Step.FREEZE_SNAPSHOT, 1, [Step.RELEASE_SNAPSHOT]),
               "first render": (Step.PREFLIGHT_RENDER, 0, [Step.RELEASE_SNAPSHOT]),
               "second render": (Step.PREFLIGHT_RENDER, 1, UNDO),
               "first page": (Step.SCHEDULE_DELIVERIES, 0, UNDO), "a later page": (Step.SCHEDULE_DELIVERIES, 1, UNDO)}


@pytest.mark.parametrize("where", list(FAILED_STEP))
def test_a_step_failing_for_good_is_compensated_leaving_nothing_queued_and_no_snapshot(where):
    clock, store, audience, notify, content, runner = saga(f"f-{where.replace(' ', '-')}")
    fail_at(where, store, audience, notify, content)
    run(runner, store, clock)
    launch = store.launch
    step, index, undone = FAILED_STEP[where]
    assert launch.state is LaunchState.FAILED and launch.next_attempt_time is None
    assert (launch.failed_step, launch.failure_reason) == (step, f"{where}: refused")
    assert launch.targets[index].state is TargetState.FAILED and launch.targets[index].error == f"{where}: refused"
    assert notify.queued() == [] and audience.snapshots == {}
    (failed,) = [r for r in launch.steps if r.outcome is StepOutcome.FAILED]
    assert (failed.step, failed.target, failed.time, failed.detail) == (step, index, NOW, f"{where}: refused")
    after = launch.steps[launch.steps.index(failed) + 1:]
    assert [(r.step, r.outcome) for r in after] == [(u, StepOutcome.DONE) for u in undone]
    assert asyncio.run(runner.run_due()) == 0  # nothing more to do: not retried, not resumed


def test_the_step_log_records_each_step_once_with_its_time_and_outcome():
    clock, store, audience, notify, content, runner = saga("log")
    run(runner, store, clock)
    launch = store.launch
    assert launch.state is LaunchState.COMPLETED and len(notify.sent) == 500
    assert [(r.step, r.target, r.outcome) for r in launch.steps] == [
        (Step.FREEZE_SNAPSHOT, 0, StepOutcome.DONE), (Step.FREEZE_SNAPSHOT, 1, StepOutcome.DONE),
        (Step.PREFLIGHT_RENDER, 0, StepOutcome.DONE), (Step.PREFLIGHT_RENDER, 1, StepOutcome.DONE),
        (Step.SCHEDULE_DELIVERIES, 0, StepOutcome.DONE), (Step.SCHEDULE_DELIVERIES, 1, StepOutcome.DONE),
        (Step.INIT_TRACKING, None, StepOutcome.DONE)]
    assert all(r.time == NOW for r in launch.steps)
    assert content.rendered == [("workspaces/acme/templates/t", "workspaces/acme/profiles/p0"),
                                ("workspaces/acme/templates/t", "workspaces/acme/profiles/q0")]


def test_a_transient_problem_in_a_compensation_is_retried_and_recorded():
    clock, store, audience, notify, content, runner = saga("retry")
    fail_at("a later page", store, audience, notify, content)
    for _ in range(8):  # snapshots, renders, three pages, the refused one
        asyncio.run(runner.run_due())
    assert store.launch.state is LaunchState.COMPENSATING
    notify.failures = [PeerUnavailable("notify: UNAVAILABLE")]
    asyncio.run(runner.run_due())
    assert store.launch.steps[-1].outcome is StepOutcome.RETRYING and store.launch.compensations == [
        Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT]
    run(runner, store, clock)
    assert store.launch.state is LaunchState.FAILED and notify.queued() == [] and audience.snapshots == {}


@pytest.mark.parametrize("crash_after", range(1, 12))
def test_a_crash_after_any_saved_step_resumes_from_it_sending_each_member_once(crash_after):
    clock, store, audience, notify, content, runner = saga(f"crash{crash_after}")
    for _ in range(crash_after):
        asyncio.run(runner.run_due())
    saved = store.launch  # what the database holds when the process dies
    clock2 = Clock()
    clock2.now = clock.now
    store2 = FakeStore(saved)
    run(LaunchRunner(store2, audience, notify, clock2, FakeContent(), page_size=100), store2, clock2)
    assert store2.launch.state is LaunchState.COMPLETED
    assert len(notify.sent) == 500 and sorted(notify.sent.values()) == sorted(profiles("p", 250) + profiles("q", 250))


@pytest.mark.parametrize("compensations_made", [0, 1])
def test_a_crash_while_compensating_resumes_the_compensations_left(compensations_made):
    clock, store, audience, notify, content, runner = saga(f"crash-comp{compensations_made}")
    fail_at("a later page", store, audience, notify, content)
    while store.launch.state is not LaunchState.COMPENSATING:
        asyncio.run(runner.run_due())
    for _ in range(compensations_made):
        asyncio.run(runner.run_due())
    saved = store.launch
    assert len(saved.compensations) == 2 - compensations_made
    store2 = FakeStore(saved)
    run(LaunchRunner(store2, audience, notify, clock, FakeContent(), page_size=100), store2, clock)
    assert store2.launch.state is LaunchState.FAILED and store2.launch.compensations == []
    assert notify.queued() == [] and audience.snapshots == {}
    assert [r.step for r in store2.launch.steps][-2:] == [Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT]
