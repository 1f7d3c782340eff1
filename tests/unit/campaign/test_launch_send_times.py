"""The launch hands each message to notify with its due time: plan positions
run across targets and pages (and stay the same when a page is handed over
again after a crash), local time asks the audience service for the
recipients' zones, a plan that reaches past the schedule's end stops there,
and a target shows the latest due time planned for it. (The options taken
from the campaign and kept with the launch: tests/contract/test_campaign_send_times_store.py.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

from svc_kit.channels import Channel

from svc_campaign.domain.launch import Launch, LaunchState, TargetState
from svc_campaign.domain.send_times import SendOptions
from svc_campaign.domain.values import Pacing
from svc_campaign.service_layer.launch import LaunchRunner
from tests.unit.campaign.test_launch import NOW, Clock, FakeAudience, FakeContent, FakeNotify, FakeStore, profiles, run

H = timedelta(hours=1)
SEGMENT_A, SEGMENT_B = "workspaces/acme/segments/a", "workspaces/acme/segments/b"


class ZonedAudience(FakeAudience):
    def __init__(self, members, zones: dict[str, str]):
        super().__init__(members)
        self.zones = zones
        self.zone_calls: list[list[str]] = []

    async def time_zones(self, workspace, names):
        self.zone_calls.append(list(names))
        return {n: self.zones[n] for n in names if n in self.zones}


class TimedNotify(FakeNotify):
    def __init__(self):
        super().__init__()
        self.send_times: dict[str, datetime | None] = {}  # key -> the send time of its first hand-over

    async def send(self, workspace, campaign, channel, template, messages):
        for m in messages:
            self.send_times.setdefault(m.idempotency_key, m.send_time)
        return await super().send(workspace, campaign, channel, template, messages)


def launched(options: SendOptions, members, end=None, zones=None, page_size=3, segments=(SEGMENT_A,)):
    clock = Clock()
    launch = Launch.plan("acme", "c", segments, {Channel.EMAIL: "t"}, NOW, end, options)
    store, audience, notify = FakeStore(launch), ZonedAudience(members, zones or {}), TimedNotify()
    runner = LaunchRunner(store, audience, notify, clock, FakeContent(), page_size=page_size)
    return clock, store, audience, notify, runner


def key(profile: str) -> str:
    return f"c:{profile.rsplit('/', 1)[-1]}:EMAIL:launch"


def test_without_options_nothing_carries_a_send_time_and_no_zone_is_asked():
    clock, store, audience, notify, runner = launched(SendOptions(), {SEGMENT_A: profiles("p", 7)})
    run(runner, store, clock)
    assert store.launch.state is LaunchState.COMPLETED
    assert set(notify.send_times.values()) == {None} and len(notify.send_times) == 7
    assert audience.zone_calls == [] and store.launch.targets[0].last_send_time is None


def test_throttled_positions_run_across_targets_and_pages():
    members = {SEGMENT_A: profiles("a", 5), SEGMENT_B: profiles("b", 4)}
    clock, store, _, notify, runner = launched(SendOptions(max_sends_per_hour=2), members,
                                               segments=(SEGMENT_A, SEGMENT_B))
    run(runner, store, clock)
    order = profiles("a", 5) + profiles("b", 4)  # the plan: target a's members, then target b's
    assert [notify.send_times[key(p)] for p in order] == [NOW + (i // 2) * H for i in range(9)]
    a, b = store.launch.targets
    assert (a.last_send_time, b.last_send_time) == (NOW + 2 * H, NOW + 4 * H)


def test_even_pacing_spreads_the_plan_over_the_window():
    clock, store, _, notify, runner = launched(SendOptions(pacing=Pacing.EVEN), {SEGMENT_A: profiles("p", 8)},
                                               end=NOW + 8 * H)
    run(runner, store, clock)
    assert [notify.send_times[key(p)] for p in profiles("p", 8)] == [NOW + i * H for i in range(8)]
    assert store.launch.state is LaunchState.COMPLETED and store.launch.targets[0].state is TargetState.DONE


def test_a_page_handed_over_again_after_a_crash_carries_the_same_send_times():
    clock, store, _, notify, runner = launched(SendOptions(pacing=Pacing.FRONT_LOADED),
                                               {SEGMENT_A: profiles("p", 9)}, end=NOW + 9 * H)
    for _ in range(3):  # snapshot, preflight, first page
        asyncio.run(runner.run_due())
    before_page = store.launch
    first = dict(notify.send_times)
    asyncio.run(runner.run_due())  # the second page ...
    store.launch = before_page  # ... whose outcome a crash lost: handed over again
    seen_again: list = []
    original_send = notify.send

    async def recording(workspace, campaign, channel, template, messages):
        seen_again.extend((m.idempotency_key, m.send_time) for m in messages)
        return await original_send(workspace, campaign, channel, template, messages)

    notify.send = recording
    run(runner, store, clock)
    assert all(notify.send_times[k] == when for k, when in seen_again)  # same key, same time
    assert first.items() <= notify.send_times.items() and len(notify.send_times) == 9
    assert store.launch.targets[0].sent + store.launch.targets[0].duplicates == 9


def test_local_time_asks_the_zones_page_by_page_and_falls_back_to_the_campaign_zone():
    people = profiles("p", 4)
    zones = {people[0]: "Asia/Tokyo", people[1]: "America/New_York", people[2]: "Not/AZone"}  # p3: none
    options = SendOptions(send_local_time=time(9, 0), time_zone="Europe/Paris")
    clock, store, audience, notify, runner = launched(options, {SEGMENT_A: people}, end=NOW + 48 * H,
                                                      zones=zones)
    run(runner, store, clock)
    # NOW is 1 June 12:00 UTC: 09:00 in Tokyo is 00:00 UTC on the 2nd, in New York 13:00 UTC on the 1st,
    # in Paris (the fallback) 07:00 UTC on the 2nd
    paris = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
    assert [notify.send_times[key(p)] for p in people] == [
        datetime(2026, 6, 2, 0, 0, tzinfo=UTC), datetime(2026, 6, 1, 13, 0, tzinfo=UTC), paris, paris]
    assert audience.zone_calls == [people[:3], people[3:]]
    assert store.launch.targets[0].last_send_time == paris


def test_a_plan_reaching_past_the_end_hands_over_what_is_due_before_it_and_stops():
    clock, store, _, notify, runner = launched(SendOptions(max_sends_per_hour=2), {SEGMENT_A: profiles("p", 10),
                                                                                   SEGMENT_B: profiles("q", 3)},
                                               end=NOW + 2 * H + timedelta(minutes=1),
                                               segments=(SEGMENT_A, SEGMENT_B))
    run(runner, store, clock)
    launch = store.launch
    assert launch.state is LaunchState.COMPLETED
    assert sorted(notify.send_times) == sorted(key(p) for p in profiles("p", 6))  # due at +0, +1 h, +2 h
    a, b = launch.targets
    assert (a.state, a.sent, b.state) == (TargetState.FAILED, 6, TargetState.FAILED)
    assert "4 members not handed over, due after the schedule's end" in a.error
    assert "all members" in b.error or "3 members" in b.error
    assert "reach past the schedule's end" in launch.last_error
    assert a.last_send_time == NOW + 2 * H
