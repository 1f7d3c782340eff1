"""Cancelling and holding a campaign's messages in the notify service, over SQLite and PostgreSQL,
with the dispatcher and the SMTP sink of test_notify_dispatch: a message is either handed over
(and counted so) or cancelled, never both, even while a dispatcher is sending."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from svc_kit.channels import Channel
from svc_kit.clock import utcnow
from svc_kit.errors import InvalidArgument

from svc_notify.domain.model import State
from svc_notify.domain.providers import Provider, RateLimit
from svc_notify.service_layer import campaign_messages
from svc_notify.service_layer.dispatcher import DispatchConfig
from tests.contract.test_notify_dispatch import (  # noqa: F401 - fixtures
    Harness, database_url, harness, postgres_url, run, smtp_sink, sqlite_url)


def campaign(h: Harness, name: str = "spring") -> str:
    return f"workspaces/{h.workspace}/campaigns/{name}"


def send(h: Harness, count: int, name: str = "spring", prefix: str = "u"):
    return h.send(*(h.email(f"{prefix}-{i}", f"{name}/{prefix}-{i}/EMAIL/launch", campaign=campaign(h, name))
                    for i in range(count)))


def cancel(h: Harness, name: str = "spring", **settle):
    return campaign_messages.cancel_campaign_messages(h.workspace, campaign(h, name), h.uow(), utcnow, **settle)


def copies(h: Harness) -> Counter:
    return Counter(m["message_id"] for m in h.smtp.messages() if m["message_id"].endswith(f".{h.workspace}@example.com>"))


def test_cancel_takes_what_no_dispatcher_holds_and_counts_what_was_handed_over(harness):
    sent = send(harness, 2, prefix="early")
    assert run(harness.dispatcher()) == 2
    queued = send(harness, 4)
    [other] = send(harness, 1, name="summer")
    now = utcnow()
    with harness.uow() as uow:  # one held by a live dispatcher, one by a dead one (its lease is over)
        [busy] = uow.messages.claim_due(now, 1, "busy", now + timedelta(seconds=120))
        [dead] = uow.messages.claim_due(now, 1, "dead", now - timedelta(seconds=1))
        uow.commit()

    waits: list[float] = []
    done = cancel(harness, settle=0.3, sleep=waits.append)
    assert (done.cancelled, done.handed_over) == (3, 3)  # 2 sent + the busy one, which never settled
    assert len(waits) == 3  # it waited for the busy one a while
    states = {m.id: harness.get(m).state for m in [*sent, *queued, other]}
    assert states[busy.id] is State.SENDING and states[dead.id] is State.CANCELLED
    assert Counter(states.values()) == {State.SENT: 2, State.SENDING: 1, State.CANCELLED: 3, State.QUEUED: 1}
    assert harness.get(dead).state_reason == f"cancelled with {campaign(harness)}"
    events = [e for e in harness.events() if e["event_type"] == "message_cancelled"]
    assert len(events) == 3 and {e["payload"]["message"]["campaign"] for e in events} == {campaign(harness)}
    assert {e["payload"]["reason"] for e in events} == {f"cancelled with {campaign(harness)}"}
    assert {e["aggregate_id"] for e in events} == {m.id for m in queued} - {busy.id}

    again = cancel(harness, settle=0)  # idempotent; and no dispatcher sends a cancelled campaign's message
    assert (again.cancelled, again.handed_over) == (3, 3)
    later = lambda: utcnow() + timedelta(seconds=300)  # noqa: E731 - past every lease
    assert run(harness.dispatcher(clock=later)) == 1  # only the other campaign's
    assert harness.get(other).state is State.SENT and harness.get(busy).state is State.SENDING
    assert set(copies(harness).values()) == {1} and len(copies(harness)) == 3


def test_messages_a_dispatcher_holds_when_the_cancel_comes_are_not_sent_but_cancelled(harness):
    harness.add_provider(Provider(harness.workspace, "slow", "Slow", Channel.EMAIL, harness.default_smtp,
                                  rate_limit=RateLimit(0.001, burst=1), create_time=utcnow(), update_time=utcnow()))
    messages = send(harness, 3)
    dispatcher = harness.dispatcher()
    real_claim = dispatcher.claimer.claim
    done: list = []

    cancelling: list[threading.Thread] = []

    def claim_then_cancel(token, now):  # the cancel lands while this pass holds every message
        claimed = real_claim(token, now)
        cancelling.append(threading.Thread(target=lambda: done.append(cancel(harness))))
        cancelling[0].start()
        while True:  # until the cancel has stopped the campaign
            with harness.uow() as uow:
                if uow.messages.campaign_hold(harness.workspace, campaign(harness)) == "CANCELLED":
                    return claimed
            time.sleep(0.01)

    dispatcher.claimer.claim = claim_then_cancel
    assert run(dispatcher) == 3
    cancelling[0].join()
    # The pass saw the campaign stopped before handing anything over (the rate limit would have let one
    # out) and deferred all three; recording them cancelled them; the cancel waited for that.
    assert (done[0].cancelled, done[0].handed_over) == (3, 0)
    assert Counter(harness.get(m).state for m in messages) == {State.CANCELLED: 3}
    assert sum(copies(harness).values()) == 0
    assert len([e for e in harness.events() if e["event_type"] == "message_cancelled"]) == 3


def test_a_held_campaign_s_messages_waiting_for_a_rate_limit_token_are_deferred_not_sent(harness):
    harness.add_provider(Provider(harness.workspace, "slow", "Slow", Channel.EMAIL, harness.default_smtp,
                                  rate_limit=RateLimit(2, burst=1), create_time=utcnow(), update_time=utcnow()))
    messages = send(harness, 6)
    dispatcher = harness.dispatcher(config=DispatchConfig(hold_for_rate=5.0, flush_seconds=0.01))
    holding = threading.Timer(0.8, lambda: campaign_messages.hold_campaign_messages(
        harness.workspace, campaign(harness), harness.uow(), utcnow))
    holding.start()  # while the pass waits for tokens (2 a second, each message willing to wait 5 s)
    run(dispatcher)
    holding.join()
    states = Counter(harness.get(m).state for m in messages)
    assert 1 <= states[State.SENT] <= 4 and states[State.SENT] + states[State.DEFERRED] == 6, states
    assert sum(copies(harness).values()) == states[State.SENT]


def test_a_dispatcher_racing_the_cancel_sends_each_message_once_or_not_at_all(harness):
    messages = send(harness, 60)
    cancelled: list = []
    started = threading.Event()

    def dispatch() -> None:
        dispatcher = harness.dispatcher(config=DispatchConfig(batch_size=4, flush_seconds=0.01))
        started.set()
        run(dispatcher, passes=20)

    racer = threading.Thread(target=dispatch)
    racer.start()
    started.wait()
    time.sleep(0.05)
    cancelled.append(cancel(harness))
    racer.join()
    states = {m.id: harness.get(m).state for m in messages}
    counts = copies(harness)
    sent = {i for i, s in states.items() if s is State.SENT}
    assert set(states.values()) <= {State.SENT, State.CANCELLED}, Counter(states.values())
    assert {f"<{i}.{harness.workspace}@example.com>" for i in sent} == set(counts) and set(counts.values()) <= {1}
    assert (cancelled[0].cancelled, cancelled[0].handed_over) == (60 - len(sent), len(sent))


def test_hold_keeps_the_campaign_s_messages_until_released(harness):
    first = send(harness, 3)
    [other] = send(harness, 1, name="summer")
    name = campaign(harness)
    assert campaign_messages.hold_campaign_messages(harness.workspace, name, harness.uow(), utcnow)
    campaign_messages.hold_campaign_messages(harness.workspace, name, harness.uow(), utcnow)  # idempotent
    more = send(harness, 2, prefix="late")  # accepted while held: waits too
    assert run(harness.dispatcher()) == 1 and harness.get(other).state is State.SENT
    with harness.uow() as uow:
        assert uow.messages.next_due_time() is None  # the dispatcher does not wake up for held messages
    assert {harness.get(m).state for m in [*first, *more]} == {State.QUEUED}
    assert campaign_messages.release_campaign_messages(harness.workspace, name, harness.uow(), utcnow) is False
    assert run(harness.dispatcher()) == 5
    assert {harness.get(m).state for m in [*first, *more]} == {State.SENT}


def test_a_page_that_arrives_after_the_cancel_is_cancelled_at_once(harness):
    cancel(harness)
    late = send(harness, 2)
    assert {harness.get(m).state for m in late} == {State.CANCELLED}
    assert Counter(e["event_type"] for e in harness.events()) == {"message_queued": 2, "message_cancelled": 2}
    assert send(harness, 1, name="summer")[0].state is State.QUEUED
    assert (cancel(harness).cancelled, run(harness.dispatcher())) == (2, 1)


def test_a_cancelled_campaign_cannot_be_released(harness):
    [message] = send(harness, 1)
    name = campaign(harness)
    campaign_messages.hold_campaign_messages(harness.workspace, name, harness.uow(), utcnow)
    cancel(harness)
    assert campaign_messages.release_campaign_messages(harness.workspace, name, harness.uow(), utcnow) is True
    assert harness.get(message).state is State.CANCELLED


@pytest.mark.parametrize("bad", ["", "spring", "workspaces/other/campaigns/spring", "workspaces/w/campaigns/"])
def test_a_campaign_name_of_another_workspace_or_malformed_is_refused(harness, bad):
    for call in (lambda: campaign_messages.cancel_campaign_messages(harness.workspace, bad, harness.uow(), utcnow),
                 lambda: campaign_messages.hold_campaign_messages(harness.workspace, bad, harness.uow(), utcnow),
                 lambda: campaign_messages.release_campaign_messages(harness.workspace, bad, harness.uow(), utcnow)):
        with pytest.raises(InvalidArgument) as error:
            call()
        assert error.value.violations[0].field == "campaign"


# -- reading and pruning holds ---------------------------------------------------------------------------


def holds_of(h: Harness) -> dict[str, bool]:
    """This workspace's holds: campaign name -> cancelled."""
    from sqlalchemy import select

    from svc_notify.adapters.tables import campaign_holds
    with h.engine.connect() as connection:
        rows = connection.execute(select(campaign_holds.c.campaign, campaign_holds.c.cancelled).where(
            campaign_holds.c.workspace == h.workspace)).all()
    return {campaign: cancelled for campaign, cancelled in rows}


def test_held_campaigns_answers_only_for_the_campaigns_asked_about(harness):
    now = utcnow()
    with harness.uow() as uow:
        for i in range(1200):  # more than one lookup chunk
            uow.messages.hold_campaign(harness.workspace, campaign(harness, f"c{i}"), now, cancelled=i % 2 == 0)
        uow.messages.hold_campaign("elsewhere", campaign(harness, "c1"), now)
        uow.commit()
    asked = [(harness.workspace, campaign(harness, f"c{i}")) for i in range(0, 1200, 2)]
    asked += [(harness.workspace, campaign(harness, "never")), ("elsewhere", campaign(harness, "c2")),
              ("nobody", campaign(harness, "c3"))]
    with harness.uow() as uow:
        assert uow.messages.held_campaigns(asked) == set(asked[:600])
        assert uow.messages.held_campaigns([]) == set()
        assert uow.messages.held_campaigns([("elsewhere", campaign(harness, "c1"))]) == {
            ("elsewhere", campaign(harness, "c1"))}


def test_a_pass_reads_only_the_holds_of_its_batch_s_campaigns_and_still_stops_a_held_one(harness):
    with harness.uow() as uow:  # holds of many other campaigns, which the pass must not read
        for i in range(300):
            uow.messages.hold_campaign(harness.workspace, campaign(harness, f"old-{i}"), utcnow(), cancelled=True)
        uow.commit()
    harness.add_provider(Provider(harness.workspace, "slow", "Slow", Channel.EMAIL, harness.default_smtp,
                                  rate_limit=RateLimit(2, burst=1), create_time=utcnow(), update_time=utcnow()))
    spring, summer = send(harness, 6), send(harness, 2, name="summer", prefix="s")
    dispatcher = harness.dispatcher(config=DispatchConfig(hold_for_rate=8.0, flush_seconds=0.01))
    holding = threading.Timer(0.8, lambda: campaign_messages.hold_campaign_messages(
        harness.workspace, campaign(harness), harness.uow(), utcnow))
    holding.start()  # while the pass waits for tokens (2 a second)
    assert run(dispatcher) == 8
    holding.join()
    batch = {(harness.workspace, campaign(harness)), (harness.workspace, campaign(harness, "summer"))}
    assert dispatcher.stops.reads >= 2 and set(dispatcher.stops.asked) == {frozenset(batch)}
    assert not dispatcher.stops._watched  # the batch is recorded: nothing watched any more
    states = Counter(harness.get(m).state for m in spring)
    assert states[State.DEFERRED] >= 2 and states[State.SENT] + states[State.DEFERRED] == 6, states
    assert {harness.get(m).state for m in summer} == {State.SENT}  # another campaign's messages go on
    assert sum(copies(harness).values()) == states[State.SENT] + 2


def test_cancelled_holds_are_pruned_once_settled_and_an_hour_old(harness):
    from svc_notify.service_layer.dispatch.stops import CampaignStops

    start = utcnow()
    early, late = (lambda: start), (lambda: start + timedelta(minutes=50))  # noqa: E731
    send(harness, 2, name="settled")
    campaign_messages.cancel_campaign_messages(harness.workspace, campaign(harness, "settled"), harness.uow(), early)
    [busy] = send(harness, 1, name="busy")
    with harness.uow() as uow:  # a dispatcher holds it under a live lease: the cancel cannot take it
        uow.messages.claim_due(utcnow(), 100, "busy", utcnow() + timedelta(hours=3))
        uow.commit()
    campaign_messages.cancel_campaign_messages(harness.workspace, campaign(harness, "busy"), harness.uow(), early,
                                               settle=0)
    campaign_messages.cancel_campaign_messages(harness.workspace, campaign(harness, "recent"), harness.uow(), late)
    campaign_messages.hold_campaign_messages(harness.workspace, campaign(harness, "paused"), harness.uow(), early)
    campaign_messages.hold_campaign_messages(harness.workspace, campaign(harness, "paused-then-cancelled"),
                                             harness.uow(), early)  # the hold is old, the cancel is not
    campaign_messages.cancel_campaign_messages(harness.workspace, campaign(harness, "paused-then-cancelled"),
                                               harness.uow(), late)
    names = ["settled", "busy", "recent", "paused", "paused-then-cancelled"]
    assert holds_of(harness) == {campaign(harness, n): n != "paused" for n in names}
    assert harness.get(busy).state is State.SENDING

    stops = CampaignStops(harness.uow)
    stops.prune(start + timedelta(minutes=59))  # nothing is an hour old yet
    assert set(holds_of(harness)) == {campaign(harness, n) for n in names}
    stops.prune(start + timedelta(minutes=61))
    assert set(holds_of(harness)) == {campaign(harness, n) for n in names if n != "settled"}
    stops.prune(start + timedelta(hours=5))  # settled ones only, never a pause's hold
    assert set(holds_of(harness)) == {campaign(harness, n) for n in ("busy", "paused")}

    with harness.uow() as uow:  # the busy message settles: its campaign's hold goes too
        uow.messages.cancel_campaign(harness.workspace, campaign(harness, "busy"), utcnow() + timedelta(hours=4),
                                     "cancelled", wait_for_senders=False)
        uow.commit()
    stops.prune(start + timedelta(hours=5))
    assert set(holds_of(harness)) == {campaign(harness, "paused")}


def test_pruning_runs_at_most_every_few_minutes():
    import asyncio

    from svc_notify.service_layer.dispatch.stops import CampaignStops

    ticks = iter([0.0, 0.0, 10.0, 301.0, 301.0])
    pruned: list = []

    class Counting(CampaignStops):
        def prune(self, now):
            pruned.append(now)
            return 0

    stops = Counting(lambda: None, monotonic=lambda: next(ticks), prune_every=300)
    for _ in range(4):  # at 0 s, 0 s (skipped), 10 s (skipped), 301 s
        asyncio.run(stops.prune_if_due(utcnow()))
    assert len(pruned) == 2
