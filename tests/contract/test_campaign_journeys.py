"""The journeys' store and runtime use cases on SQLite and PostgreSQL: entries (one per journey version,
profile and trigger event), durable timers claimed and leased, goal exits, pause holding timers, figures and
explanations. notify is a recording port here (tests/e2e/test_journeys.py runs the real one)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument

from svc_campaign.adapters.journey_store import SqlJourneys
from svc_campaign.domain.journey import Definition, Reentry, Step, Trigger
from svc_campaign.service_layer import journeys
from svc_campaign.service_layer.ports import PeerRefused, PeerUnavailable

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
WAIT = timedelta(minutes=10)


def cart(reentry="ALWAYS") -> Definition:
    return Definition(
        Trigger("event", "product_added_to_cart"),
        (Step("wait1", "wait", duration=WAIT, event="purchase", on_event="done", on_timeout="email"),
         Step("email", "send", next="wait2", channel="EMAIL", template="workspaces/acme/templates/cart"),
         Step("wait2", "wait", duration=WAIT, event="purchase", on_event="done", on_timeout="sms"),
         Step("sms", "send", next="done", channel="SMS", template="workspaces/acme/templates/sms"),
         Step("done", "exit")),
        "wait1", "purchase", Reentry(reentry))


class RecordingNotify:
    def __init__(self):
        self.keys: list[str] = []
        self.down = False

    async def send_journey_messages(self, workspace, sends):
        if self.down:
            raise PeerUnavailable("notify is down")
        self.keys.extend(s.idempotency_key for s in sends)
        return [""] * len(sends)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def tx(engine):
    return SqlJourneys(engine)


ids = (f"id{n:06d}" for n in itertools.count())


def new_id():
    return next(ids)


def published(tx, definition=None, journey_id="cart", workspace="acme"):
    journeys.create_journey(tx, workspace, journey_id, "Cart", definition or cart(), T0, new_id)
    return journeys.publish_journey(tx, workspace, journey_id, "", T0)


def track(tx, profile, name, event_id, now=T0, workspace="acme", **properties):
    with tx() as store:
        return journeys.on_tracked(store, workspace, f"workspaces/{workspace}/profiles/{profile}", name, properties,
                                   event_id, now, new_id)


def run(tx, notify, clock):
    return asyncio.run(journeys.run_due(tx, notify, clock))


def test_create_get_list_update_publish_and_bad_drafts(tx):
    journeys.create_journey(tx, "acme", "cart", "Cart", cart(), T0, new_id)
    with pytest.raises(AlreadyExists):
        journeys.create_journey(tx, "acme", "cart", "Cart", cart(), T0, new_id)
    journeys.create_journey(tx, "acme", "b", "B", Definition(), T0, new_id)
    journeys.create_journey(tx, "other", "c", "C", Definition(), T0, new_id)
    first, token = journeys.list_journeys(tx, "acme", 1, "")
    second, last = journeys.list_journeys(tx, "acme", 1, token)
    assert [j.id for j in first + second] == ["b", "cart"] and last == ""
    with pytest.raises(InvalidArgument):
        journeys.publish_journey(tx, "acme", "b", "", T0)  # an empty draft
    journey = journeys.publish_journey(tx, "acme", "cart", "", T0)
    assert (journey.state, journey.published_version) == ("ACTIVE", 1)
    changed = journeys.update_journey(tx, "acme", "cart", journey.etag, "Renamed", None, T0)
    assert journeys.get_journey(tx, "acme", "cart").display_name == "Renamed" and changed.etag != journey.etag
    with pytest.raises(Exception) as stale:
        journeys.update_journey(tx, "acme", "cart", journey.etag, "Again", None, T0)
    assert type(stale.value).__name__ == "Aborted"
    assert journeys.publish_journey(tx, "acme", "cart", "", T0).published_version == 2


def test_the_abandoned_cart_runs_on_durable_timers(tx):
    published(tx)
    notify, clock = RecordingNotify(), Clock()
    for n in range(5):
        assert track(tx, f"p{n}", "product_added_to_cart", f"ev{n}").entered == 1
    assert run(tx, notify, clock) == 5 and notify.keys == []  # all now wait for a purchase
    assert track(tx, "p0", "purchase", "buy0", T0 + timedelta(minutes=1)).goal == 1
    clock.now = T0 + WAIT
    assert run(tx, notify, clock) == 4
    assert sorted(k.rsplit("/", 1)[-1] for k in notify.keys) == ["email"] * 4
    assert run(tx, notify, clock) == 0  # waiting again, not due
    assert track(tx, "p1", "purchase", "buy1", clock.now).goal == 1
    clock.now = T0 + 2 * WAIT
    assert run(tx, notify, clock) == 3
    assert sorted(k.rsplit("/", 1)[-1] for k in notify.keys) == ["email"] * 4 + ["sms"] * 3
    assert not any("/p0/" in k for k in notify.keys)
    figures = journeys.journey_figures(tx, "acme", "cart")
    assert (figures.entered, figures.goal, figures.exited, figures.active) == (5, 2, 3, 0)
    steps = {s.step: s for s in figures.steps}
    assert dict(steps["wait1"].left_by_branch) == {"on_timeout": 4}
    assert steps["email"].sent == 4 and steps["sms"].sent == 3
    explained = journeys.explain_profile(tx, "acme", "p1")
    [entry] = explained
    assert entry.entry.state == "GOAL"
    assert [t.kind for _, t in entry.path] == ["entered", "waiting", "step", "send_requested", "step", "waiting",
                                               "goal"]


def test_a_redelivered_trigger_makes_one_entry_and_reentry_rules_refuse_with_reasons(tx):
    published(tx, cart("ONCE"))
    assert track(tx, "p", "product_added_to_cart", "ev").entered == 1
    assert track(tx, "p", "product_added_to_cart", "ev").entered == 0  # same event: the unique key
    refused = track(tx, "p", "product_added_to_cart", "ev2")
    assert (refused.entered, refused.refused) == (0, 1)
    [entry, refusal] = journeys.explain_profile(tx, "acme", "p")
    assert refusal.entry is None and "already inside" in refusal.refusal
    assert journeys.journey_figures(tx, "acme", "cart").refused == 1


def test_other_workspaces_see_nothing(tx):
    published(tx)
    track(tx, "p", "product_added_to_cart", "ev")
    assert track(tx, "p", "product_added_to_cart", "ev-b", workspace="other").entered == 0
    assert journeys.explain_profile(tx, "other", "p") == []


def test_pause_holds_timers_archive_drains_and_delete_waits_for_the_end(tx):
    published(tx)
    notify, clock = RecordingNotify(), Clock()
    track(tx, "p", "product_added_to_cart", "ev")
    run(tx, notify, clock)
    journeys.change_journey(tx, "acme", "cart", "pause", "", T0)
    assert track(tx, "q", "product_added_to_cart", "ev-q").entered == 0  # no entries while paused
    clock.now = T0 + WAIT
    assert run(tx, notify, clock) == 0  # held
    journeys.change_journey(tx, "acme", "cart", "archive", "", T0)
    assert track(tx, "q", "product_added_to_cart", "ev-q2").entered == 0
    with pytest.raises(FailedPrecondition):
        journeys.delete_journey(tx, "acme", "cart", "")
    assert run(tx, notify, clock) == 1 and len(notify.keys) == 1  # draining
    clock.now = T0 + 2 * WAIT
    run(tx, notify, clock)
    journeys.delete_journey(tx, "acme", "cart", "")


def test_a_pass_that_cannot_reach_notify_is_repeated_after_its_lease_with_the_same_keys(tx):
    published(tx)
    notify, clock = RecordingNotify(), Clock()
    track(tx, "p", "product_added_to_cart", "ev")
    run(tx, notify, clock)
    clock.now = T0 + WAIT
    notify.down = True
    assert run(tx, notify, clock) == 1
    notify.down = False
    assert run(tx, notify, clock) == 0  # leased
    clock.now += journeys.LEASE
    assert run(tx, notify, clock) == 1
    assert [k.rsplit("/", 1)[-1] for k in notify.keys] == ["email"]


def test_new_versions_leave_profiles_inside_on_theirs(tx):
    published(tx)
    track(tx, "p", "product_added_to_cart", "ev")
    journeys.publish_journey(tx, "acme", "cart", "", T0)
    track(tx, "q", "product_added_to_cart", "ev-q")
    versions = {e.entry.profile: e.version for e in journeys.explain_profile(tx, "acme", "p")
                + journeys.explain_profile(tx, "acme", "q")}
    assert versions == {"p": 1, "q": 2}


def test_notify_skips_go_on_the_trail(tx):
    published(tx)
    notify, clock = RecordingNotify(), Clock()
    track(tx, "p", "product_added_to_cart", "ev")
    run(tx, notify, clock)
    clock.now = T0 + WAIT
    run(tx, notify, clock)
    with tx() as store:
        assert journeys.on_message_event(store, "acme", "message_suppressed", notify.keys[0], "NO_CONSENT", T0)
        assert journeys.on_message_event(store, "acme", "message_suppressed", "campaign/x", "NO_CONSENT", T0) is None
    [entry] = journeys.explain_profile(tx, "acme", "p")
    assert ("send_skipped", "email", "NO_CONSENT") in [(t.kind, t.step, t.detail) for _, t in entry.path]
    assert {s.step: s.skipped for s in journeys.journey_figures(tx, "acme", "cart").steps}["email"] == 1


def test_segment_triggers_enter_on_entering_or_leaving(tx):
    steps = (Step("hello", "send", channel="EMAIL", template="workspaces/acme/templates/hi", next="done"),
             Step("done", "exit"))
    segment = "workspaces/acme/segments/vip"
    published(tx, Definition(Trigger("segment_entered", segment=segment), steps, "hello"), "welcome")
    published(tx, Definition(Trigger("segment_left", segment=segment), steps, "hello"), "goodbye")
    with tx() as store:
        joined = journeys.on_segment_change(store, "acme", segment, ["a", "b"], [], "seg-1", T0, new_id)
        left = journeys.on_segment_change(store, "acme", segment, [], ["a"], "seg-2", T0, new_id)
        again = journeys.on_segment_change(store, "acme", segment, ["a", "b"], [], "seg-3", T0, new_id)
        other = journeys.on_segment_change(store, "acme", "workspaces/acme/segments/other", ["c"], [], "s4", T0,
                                           new_id)
    assert (joined.entered, left.entered, other.entered) == (2, 1, 0)
    assert (again.entered, again.refused) == (0, 2)  # MODE_ONCE (the default)
    notify = RecordingNotify()
    assert run(tx, notify, Clock()) == 3
    assert sorted(k.split("/")[1] for k in notify.keys) == ["goodbye", "welcome", "welcome"]


class RecordingAudience:
    def __init__(self):
        self.updates: list[tuple[str, str, str]] = []

    async def set_attribute(self, workspace, profile, attribute, value):
        self.updates.append((profile, attribute, value))


def test_update_attribute_steps_go_to_audience(tx):
    steps = (Step("mark", "update_attribute", attribute="cart_status", value="abandoned", next="done"),
             Step("done", "exit"))
    published(tx, Definition(Trigger("event", "product_added_to_cart"), steps, "mark"), "mark")
    track(tx, "p", "product_added_to_cart", "ev")
    audience = RecordingAudience()
    assert asyncio.run(journeys.run_due(tx, RecordingNotify(), Clock(), audience=audience)) == 1
    assert audience.updates == [("p", "cart_status", "abandoned")]
    [entry] = journeys.explain_profile(tx, "acme", "p")
    assert [t.kind for _, t in entry.path] == ["entered", "update_requested", "step", "exited"]


def test_branches_read_the_local_copy_of_segment_membership(engine, tx):
    from svc_campaign.adapters import segment_cache

    steps = (Step("b", "branch", in_segment="workspaces/acme/segments/vip", on_true="vip", on_false="done"),
             Step("vip", "send", channel="EMAIL", template="workspaces/acme/templates/vip", next="done"),
             Step("done", "exit"))
    published(tx, Definition(Trigger("event", "signup"), steps, "b"), "welcome")
    with engine.begin() as connection:
        segment_cache.apply_event(connection, {"workspace": "acme", "aggregate_id": "vip",
                                               "event_type": "segment_updated", "occurred_at": T0,
                                               "payload": {"added": ["a"], "removed": [], "reason": "recomputed"}})
    track(tx, "a", "signup", "s-a")
    track(tx, "b", "signup", "s-b")
    notify = RecordingNotify()
    assert run(tx, notify, Clock()) == 2
    assert [k.split("/")[3] for k in notify.keys] == [
        e.entry.id for e in journeys.explain_profile(tx, "acme", "a")]


class ZonedAudience(RecordingAudience):
    async def time_zones(self, workspace, profiles):
        return {p: "Asia/Tokyo" for p in profiles}


def test_waits_until_a_time_of_day_use_the_profiles_zone(tx):
    steps = (Step("morning", "wait", until_time="08:00", next="hello"),
             Step("hello", "send", channel="EMAIL", template="workspaces/acme/templates/hi", next="done"),
             Step("done", "exit"))
    published(tx, Definition(Trigger("event", "signup"), steps, "morning"), "morning")
    track(tx, "p", "signup", "s")
    notify, clock = RecordingNotify(), Clock()  # 12:00 UTC = 21:00 in Tokyo: 08:00 there is 23:00 UTC
    assert asyncio.run(journeys.run_due(tx, notify, clock, audience=ZonedAudience())) == 1
    clock.now = datetime(2026, 12, 5, 22, 59, tzinfo=UTC)
    assert run(tx, notify, clock) == 0
    clock.now = datetime(2026, 12, 5, 23, 0, tzinfo=UTC)
    assert run(tx, notify, clock) == 1 and len(notify.keys) == 1


def test_engagement_with_a_journeys_message_ends_a_wait_for_it(tx):
    steps = (Step("hello", "send", channel="EMAIL", template="workspaces/acme/templates/hi", next="opened"),
             Step("opened", "wait", duration=timedelta(days=2), event="message_opened", on_event="done",
                  on_timeout="nudge"),
             Step("nudge", "send", channel="SMS", template="workspaces/acme/templates/nudge", next="done"),
             Step("done", "exit"))
    published(tx, Definition(Trigger("event", "signup"), steps, "hello"), "welcome")
    track(tx, "p", "signup", "s")
    notify, clock = RecordingNotify(), Clock()
    run(tx, notify, clock)
    with tx() as store:
        moved = journeys.on_message_event(store, "acme", "message_opened", notify.keys[0], "", T0)
    assert moved.moved == 1
    run(tx, notify, clock)
    [entry] = journeys.explain_profile(tx, "acme", "p")
    assert entry.entry.state == "EXITED" and [k.rsplit("/", 1)[-1] for k in notify.keys] == ["hello"]


# Replicas share PostgreSQL (one SQLite file has one campaign process): this runs there only.
@pytest.mark.parametrize("engine", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_replicas_deciding_the_same_profile_at_once_admit_it_once(engine, tx):
    """Eight writers (as eight replicas' consumers would) each with another trigger event of the same profile,
    in MODE_ONCE: exactly one entry, seven refusals."""
    import threading

    published(tx, cart("ONCE"))
    barrier = threading.Barrier(8)
    outcomes = []

    def writer(n: int) -> None:
        barrier.wait()
        outcomes.append(track(tx, "p", "product_added_to_cart", f"ev-{n}"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert (sum(o.entered for o in outcomes), sum(o.refused for o in outcomes)) == (1, 7)


class AttributedAudience(RecordingAudience):
    def __init__(self, attributes):
        super().__init__()
        self.attributes_of = attributes
        self.asked: list[list[str]] = []
        self.down = False

    async def attributes(self, workspace, profiles):
        if self.down:
            raise PeerUnavailable("audience is down")
        self.asked.append(profiles)
        return {p: self.attributes_of[p] for p in profiles if p in self.attributes_of}


def test_branches_on_a_profile_attribute_read_audience_when_the_step_runs(tx):
    from svc_campaign.domain.journey import Condition

    steps = (Step("wait", "wait", duration=WAIT, next="is-vip"),
             Step("is-vip", "branch", if_attribute=Condition("tier", "EQUALS", "gold"), on_true="vip",
                  on_false="done"),
             Step("vip", "send", channel="EMAIL", template="workspaces/acme/templates/vip", next="done"),
             Step("done", "exit"))
    published(tx, Definition(Trigger("event", "signup"), steps, "wait"), "vip")
    for p in ("a", "b", "c"):
        track(tx, p, "signup", f"s-{p}")
    audience = AttributedAudience({"a": {"tier": "silver"}, "b": {"tier": "silver"}})
    notify, clock = RecordingNotify(), Clock()
    assert asyncio.run(journeys.run_due(tx, notify, clock, audience=audience)) == 3
    assert notify.keys == []  # everybody waits
    audience.attributes_of["a"] = {"tier": "gold"}  # changed during the wait: the branch sees the new value
    clock.now = T0 + WAIT
    audience.down = True
    assert asyncio.run(journeys.run_due(tx, notify, clock, audience=audience)) == 3
    assert notify.keys == []  # no branch guessed: the pass comes again after the lease
    audience.down = False
    clock.now += journeys.LEASE
    assert asyncio.run(journeys.run_due(tx, notify, clock, audience=audience)) == 3
    assert audience.asked[-1] == ["a", "b", "c"]
    [key] = notify.keys
    assert key.split("/")[3] == journeys.explain_profile(tx, "acme", "a")[0].entry.id
    paths = {p: [(t.kind, t.step, t.detail) for _, t in journeys.explain_profile(tx, "acme", p)[0].path]
             for p in ("a", "b", "c")}
    assert ("step", "is-vip", "on_true") in paths["a"]
    assert ("step", "is-vip", "on_false") in paths["b"] and ("step", "is-vip", "on_false") in paths["c"]


class RecordingIntegrations:
    def __init__(self):
        self.calls: list[tuple[str, dict, str]] = []
        self.gone: set[str] = set()
        self.down = False

    async def deliver_webhook_event(self, webhook, data, idempotency_key):
        from svc_campaign.service_layer.ports import PeerRefused

        if self.down:
            raise PeerUnavailable("integrations is down")
        if webhook in self.gone:
            raise PeerRefused(f"delivering to {webhook}: NOT_FOUND {webhook}")
        self.calls.append((webhook, data, idempotency_key))


def test_webhook_steps_ask_integrations_once_per_entry_and_a_gone_webhook_is_skipped_with_its_reason(tx):
    crm, old = "workspaces/acme/webhooks/crm", "workspaces/acme/webhooks/old"
    steps = (Step("tell-crm", "call_webhook", webhook=crm, next="tell-old"),
             Step("tell-old", "call_webhook", webhook=old, next="hello"),
             Step("hello", "send", channel="EMAIL", template="workspaces/acme/templates/hi", next="done"),
             Step("done", "exit"))
    published(tx, Definition(Trigger("event", "signup"), steps, "tell-crm"), "hooks")
    track(tx, "p", "signup", "s")
    integrations, notify, clock = RecordingIntegrations(), RecordingNotify(), Clock()
    integrations.gone.add(old)
    integrations.down = True
    assert asyncio.run(journeys.run_due(tx, notify, clock, integrations=integrations)) == 1
    integrations.down = False
    clock.now += journeys.LEASE  # the pass comes again with the same keys
    assert asyncio.run(journeys.run_due(tx, notify, clock, integrations=integrations)) == 1
    [entry] = journeys.explain_profile(tx, "acme", "p")
    key = f"journeys/hooks/entries/{entry.entry.id}/steps/tell-crm"
    assert integrations.calls == [(crm, {"journey": "workspaces/acme/journeys/hooks", "version": 1,
                                         "entry": entry.entry.id, "step": "tell-crm",
                                         "profile": "workspaces/acme/profiles/p"}, key)]
    assert notify.keys == [f"journeys/hooks/entries/{entry.entry.id}/steps/hello"] * 2  # notify dedupes
    assert entry.entry.state == "EXITED"
    path = [(t.kind, t.step) for _, t in entry.path]
    assert path[:5] == [("entered", "tell-crm"), ("webhook_queued", "tell-crm"), ("step", "tell-crm"),
                        ("webhook_queued", "tell-old"), ("webhook_skipped", "tell-old")]
    skipped = [t.detail for _, t in entry.path if t.kind == "webhook_skipped"]
    assert skipped == [f"delivering to {old}: NOT_FOUND {old}"]
    assert path[-1] == ("exited", "done")
    figures = {s.step: (s.sent, s.skipped) for s in journeys.journey_figures(tx, "acme", "hooks").steps}
    assert (figures["tell-crm"], figures["tell-old"]) == ((1, 0), (1, 1))


class SegmentAudience(RecordingAudience):
    def __init__(self):
        super().__init__()
        self.members: dict[str, set[str]] = {}
        self.known = {"p", "q"}
        self.not_static: set[str] = set()

    async def change_members(self, segment, profiles, add):
        from svc_campaign.service_layer.ports import PeerRefused

        if segment in self.not_static:
            raise PeerRefused(f"adding to {segment}: FAILED_PRECONDITION {segment} is a rules segment")
        found = self.members.setdefault(segment, set())
        for p in profiles:
            if p in self.known:
                (found.add if add else found.discard)(p)
        return [p for p in profiles if p not in self.known]


def test_static_segment_steps_change_membership_through_audience(tx):
    vip, new, rules = ("workspaces/acme/segments/vip", "workspaces/acme/segments/new",
                       "workspaces/acme/segments/rules")
    steps = (Step("join-vip", "add_to_segment", segment=vip, next="leave-new"),
             Step("leave-new", "remove_from_segment", segment=new, next="join-rules"),
             Step("join-rules", "add_to_segment", segment=rules, next="done"), Step("done", "exit"))
    published(tx, Definition(Trigger("event", "signup"), steps, "join-vip", reentry=Reentry("ALWAYS")), "vips")
    for p in ("p", "q", "ghost"):
        track(tx, p, "signup", f"s-{p}")
    audience = SegmentAudience()
    audience.members[new] = {"p", "q"}
    audience.not_static.add(rules)
    assert asyncio.run(journeys.run_due(tx, RecordingNotify(), Clock(), audience=audience)) == 3
    assert audience.members[vip] == {"p", "q"} and audience.members[new] == set()
    paths = {p: [(t.kind, t.step, t.detail) for _, t in journeys.explain_profile(tx, "acme", p)[0].path]
             for p in ("p", "ghost")}
    assert ("segment_add", "join-vip", vip) in paths["p"] and ("segment_remove", "leave-new", new) in paths["p"]
    [failed] = [t for t in paths["p"] if t[0] == "segment_failed"]
    assert failed[1] == "join-rules" and "rules segment" in failed[2]
    assert ("segment_failed", "join-vip", "the audience service has no profile ghost") in paths["ghost"]
    assert paths["p"][-1][0] == "exited" and paths["ghost"][-1][0] == "exited"  # a failed step goes on
    figures = {s.step: (s.sent, s.skipped) for s in journeys.journey_figures(tx, "acme", "vips").steps}
    assert (figures["join-vip"], figures["join-rules"]) == ((3, 1), (3, 3))


# ---- date attribute triggers

def birthday(minute_of_day=12 * 60 + 1, reentry="ALWAYS", workspace="acme") -> Definition:
    return Definition(Trigger("date_attribute", attribute="birthday", minute_of_day=minute_of_day),
                      (Step("card", "send", next="done", channel="EMAIL",
                            template=f"workspaces/{workspace}/templates/card"),
                       Step("done", "exit")), "card", "", Reentry(reentry))


class DatedAudience:
    """Profiles with a birthday (or not) and a zone, read a page of two at a time."""

    def __init__(self, profiles: dict[str, tuple[str, str]]):
        self.profiles = dict(profiles)
        self.down = False

    async def date_values(self, workspace, attribute, page_token):
        if self.down:
            raise PeerUnavailable("audience is down")
        if workspace == "gone":
            raise PeerRefused("no workspace gone")
        ids = sorted(self.profiles)
        start = int(page_token or 0)
        page = [(p, *self.profiles[p]) for p in ids[start:start + 2]]
        return page, str(start + 2) if start + 2 < len(ids) else ""

    async def dates(self, workspace, profiles, attribute):
        if self.down:
            raise PeerUnavailable("audience is down")
        return {p: self.profiles[p] for p in profiles if p in self.profiles}


def seed(tx, audience, now):
    return asyncio.run(journeys.seed_date_timers(tx, audience, lambda: now, new_id))


def fire(tx, audience, now):
    return asyncio.run(journeys.run_date_timers(tx, audience, lambda: now, new_id))


def date_entries(tx, profile):
    return [e.path[0][1].detail for e in journeys.explain_profile(tx, "acme", profile) if e.entry is not None]


def test_date_triggers_enter_each_profile_once_on_its_date_in_its_zone(tx):
    published(tx, birthday(), "bday")
    audience = DatedAudience({"ann": ("1990-12-05", ""),  # 12:01 UTC today: a minute ahead
                              "bob": ("1985-12-05T00:00:00Z", "Asia/Tokyo"),  # 12:01 in Tokyo: 9 h ago
                              "cat": ("1970-06-01", "Europe/Paris"),  # next June
                              "dan": ("soon", "")})  # no date: no timer
    assert seed(tx, audience, T0) == 1
    assert seed(tx, audience, T0) == 0  # refreshed: nothing to do until DATE_REFRESH passes
    assert fire(tx, audience, T0).entered == 1  # bob's came less than a day ago: enters now
    assert date_entries(tx, "bob") == ["date:birthday:2026-12-05"] and date_entries(tx, "ann") == []
    assert fire(tx, audience, T0 + timedelta(seconds=30)).entered == 0
    assert fire(tx, audience, T0 + timedelta(minutes=1)).entered == 1
    assert date_entries(tx, "ann") == ["date:birthday:2026-12-05"]
    notify, clock = RecordingNotify(), Clock()
    clock.now = T0 + timedelta(minutes=1)
    run(tx, notify, clock)
    assert len(notify.keys) == 2
    # a refresh later that day does not bring today's back; next year's comes round
    later = T0 + journeys.DATE_REFRESH + timedelta(minutes=1)
    assert seed(tx, audience, later) == 1
    assert fire(tx, audience, later).entered == 0
    assert fire(tx, audience, datetime(2027, 6, 1, 10, 0, tzinfo=UTC)).entered == 0  # cat: 12:01 in Paris (CEST)
    assert fire(tx, audience, datetime(2027, 6, 1, 10, 1, tzinfo=UTC)).entered == 1
    assert date_entries(tx, "cat") == ["date:birthday:2027-06-01"]
    assert fire(tx, audience, datetime(2027, 12, 5, 12, 1, tzinfo=UTC)).entered == 2  # ann and bob
    assert date_entries(tx, "ann") == ["date:birthday:2026-12-05", "date:birthday:2027-12-05"]
    assert date_entries(tx, "dan") == []
    assert journeys.journey_figures(tx, "acme", "bday").entered == 5


def test_a_due_date_timer_enters_once_and_a_second_worker_does_not_enter_again(engine, tx):
    published(tx, birthday(), "bday")
    audience = DatedAudience({"ann": ("1990-12-05", "")})
    seed(tx, audience, T0)
    due = T0 + timedelta(minutes=1)
    if engine.dialect.name == "postgresql":  # two replicas at once: the second skips the claimed row
        with tx() as first:
            assert len(first.claim_date_timers(due, 10, due + journeys.LEASE)) == 1
            with tx() as second:
                assert second.claim_date_timers(due, 10, due + journeys.LEASE) == []
    else:  # one process: the first claim leased it
        with tx() as first:
            assert len(first.claim_date_timers(due, 10, due + journeys.LEASE)) == 1
        with tx() as second:
            assert second.claim_date_timers(due, 10, due + journeys.LEASE) == []
    # audience down: the timer comes due again after its lease, nobody entered
    audience.down = True
    assert fire(tx, audience, due + journeys.LEASE).entered == 0
    audience.down = False
    assert fire(tx, audience, due + journeys.LEASE + timedelta(seconds=1)).entered == 0  # leased again
    assert fire(tx, audience, due + 2 * journeys.LEASE).entered == 1
    # fired again the same day (a crash after the entry, a timer set back): still one entry
    with tx() as store:
        store.put_date_timers("acme", "bday", [journeys.DateTimer("ann", due, None)], "again")
    assert fire(tx, audience, due + timedelta(minutes=5)).entered == 0
    assert date_entries(tx, "ann") == ["date:birthday:2026-12-05"]
    assert journeys.journey_figures(tx, "acme", "bday").entered == 1


def test_a_changed_date_moves_the_timer_and_a_removed_one_drops_it(tx):
    published(tx, birthday(), "bday")
    audience = DatedAudience({"ann": ("1990-12-05", ""), "bob": ("1990-12-05", "")})
    seed(tx, audience, T0)
    audience.profiles["ann"] = ("1990-12-07", "")  # changed before today's timer fired
    del audience.profiles["bob"]  # erased, or the date removed
    assert fire(tx, audience, T0 + timedelta(minutes=1)).entered == 0
    assert fire(tx, audience, datetime(2026, 12, 6, 12, 1, tzinfo=UTC)).entered == 0
    assert fire(tx, audience, datetime(2026, 12, 7, 12, 1, tzinfo=UTC)).entered == 1
    assert date_entries(tx, "ann") == ["date:birthday:2026-12-07"]
    audience.profiles["bob"] = ("1990-12-08", "")  # back: the next refresh sets its timer again
    assert fire(tx, audience, datetime(2026, 12, 8, 12, 1, tzinfo=UTC)).entered == 0
    assert seed(tx, audience, datetime(2026, 12, 8, 12, 2, tzinfo=UTC)) == 1
    assert fire(tx, audience, datetime(2026, 12, 8, 12, 2, tzinfo=UTC)).entered == 1  # a minute late: enters
    assert date_entries(tx, "bob") == ["date:birthday:2026-12-08"]


def test_pause_holds_date_timers_resume_fires_them_and_archive_drops_them(tx):
    published(tx, birthday(), "bday")
    audience = DatedAudience({"ann": ("1990-12-05", ""), "bob": ("1990-12-06", "")})
    seed(tx, audience, T0)
    journeys.change_journey(tx, "acme", "bday", "pause", "", T0)
    assert fire(tx, audience, T0 + timedelta(minutes=1)).entered == 0  # held
    assert seed(tx, audience, T0 + timedelta(minutes=1)) == 0  # paused: not refreshed either
    journeys.change_journey(tx, "acme", "bday", "resume", "", T0)
    assert fire(tx, audience, T0 + timedelta(hours=2)).entered == 1  # two hours late, still today: enters
    assert seed(tx, audience, T0 + timedelta(hours=2)) == 1  # resumed: refreshed at once
    journeys.change_journey(tx, "acme", "bday", "archive", "", T0)
    with tx() as store:
        assert store.date_timers("acme", "bday", ["ann", "bob"]) == {}
    assert fire(tx, audience, datetime(2026, 12, 6, 12, 1, tzinfo=UTC)).entered == 0
    assert seed(tx, audience, datetime(2026, 12, 6, 12, 1, tzinfo=UTC)) == 0


def test_a_date_trigger_with_a_bad_attribute_is_refused_at_publish(tx):
    journeys.create_journey(tx, "acme", "bday", "B", Definition(
        Trigger("date_attribute", attribute="Birthday!", minute_of_day=0), (Step("done", "exit"),), "done"),
        T0, new_id)
    with pytest.raises(InvalidArgument) as raised:
        journeys.publish_journey(tx, "acme", "bday", "", T0)
    assert [v.field for v in raised.value.violations] == ["journey.definition.trigger.date_attribute.attribute"]


def test_a_workspace_audience_refuses_does_not_hold_up_the_other_date_journeys(tx):
    published(tx, birthday(workspace="gone"), "bday", workspace="gone")
    published(tx, birthday(), "bday")
    audience = DatedAudience({"ann": ("1990-12-05", "")})
    audience.down = True
    with pytest.raises(PeerUnavailable):
        seed(tx, audience, T0)
    audience.down = False
    assert seed(tx, audience, T0) == 2
    assert seed(tx, audience, T0) == 0  # both noted: the refused one is tried again at the next refresh
    assert fire(tx, audience, T0 + timedelta(minutes=1)).entered == 1
    assert date_entries(tx, "ann") == ["date:birthday:2026-12-05"]
