from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.channels import Channel

from svc_analytics.domain.model import CLICKED, OPENED, SENT, SOURCE_NOTIFY, StoredEvent
from svc_analytics.service_layer.enrichment import EnrichmentSettings
from svc_analytics.service_layer.writer import EventWriter
from tests.fakes_analytics import InMemoryEventStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def ev(event_id, type_="page_viewed", at=NOW, workspace="acme", **kw) -> StoredEvent:
    return StoredEvent(workspace, event_id, type_, at, at, **kw)


class Published:
    def __init__(self):
        self.batches = []

    def publish(self, events):
        self.batches.append(list(events))


@pytest.fixture
def store():
    return InMemoryEventStore()


def test_enqueued_events_wait_for_the_batch_size(store):
    writer = EventWriter(store, max_batch=3, max_delay=60)
    first = writer.enqueue([ev("a"), ev("b")])
    assert store.rows == [] and not first.done()
    second = writer.enqueue([ev("c"), ev("a")])
    assert len(store.inserts) == 1 and [e.event_id for e in store.inserts[0]] == ["a", "b", "c"]
    assert (first.result(0).new, first.result(0).duplicates) == (2, 0)
    assert (second.result(0).new, second.result(0).duplicates) == (1, 1)


def test_explicit_flush_writes_what_is_queued(store):
    writer = EventWriter(store, max_batch=100, max_delay=60)
    future = writer.enqueue([ev("a"), ev("a"), ev("b")])
    outcome = writer.flush()
    assert (outcome.new, outcome.duplicates) == (2, 1)
    assert future.result(0).new == 2
    assert writer.flush().new == 0 and len(store.inserts) == 1


def test_the_timer_writes_after_the_delay(store):
    writer = EventWriter(store, max_batch=100, max_delay=0.05)
    writer.start()
    try:
        outcome = writer.enqueue([ev("a")]).result(timeout=5)
        assert outcome.new == 1 and [e.event_id for e in store.rows] == ["a"]
    finally:
        writer.close()


def test_close_writes_what_is_still_queued(store):
    writer = EventWriter(store, max_batch=100, max_delay=3600)
    writer.start()
    future = writer.enqueue([ev("a")])
    writer.close()
    assert future.result(0).new == 1


def test_ids_already_stored_are_dropped_with_one_query_per_workspace(store):
    store.insert([ev("a"), ev("a", workspace="other")])
    writer = EventWriter(store)
    before = store.existing_id_queries
    future = writer.enqueue([ev("a"), ev("b"), ev("a", workspace="globex"), ev("b", workspace="other")])
    writer.flush()
    assert store.existing_id_queries - before == 3
    assert (future.result(0).new, future.result(0).duplicates) == (3, 1)


def test_the_api_path_writes_at_once_with_what_was_queued_and_shares_the_dedupe(store):
    published = Published()
    writer = EventWriter(store, published, max_batch=100, max_delay=60)
    queued = writer.enqueue([ev("n1", SENT, source=SOURCE_NOTIFY), ev("x")])
    outcome = writer.write([ev("x"), ev("y"), ev("y")])
    assert (outcome.new, outcome.duplicates) == (1, 2)
    assert (queued.result(0).new, queued.result(0).duplicates) == (2, 0)
    assert len(store.inserts) == 1
    # Only the API call's new events are behaviour events to publish.
    assert [[e.event_id for e in b] for b in published.batches] == [["y"]]


def test_a_duplicate_storm_is_stored_once(store):
    writer = EventWriter(store, max_batch=50, max_delay=60)
    outcomes = []

    def send(worker):
        for round_ in range(20):
            batch = [ev(f"e{i}") for i in range(round_ % 7, round_ % 7 + 10)]
            if worker % 2:
                outcomes.append(writer.write(batch))
            else:
                outcomes.append(writer.enqueue(batch))

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.flush()
    results = [o.result(0) if hasattr(o, "result") else o for o in outcomes]
    assert sorted(e.event_id for e in store.rows) == sorted(f"e{i}" for i in range(16))
    assert sum(r.new for r in results) == 16
    assert sum(r.new + r.duplicates for r in results) == 8 * 20 * 10


def test_a_failing_store_fails_the_queued_calls(store):
    class Broken(InMemoryEventStore):
        def insert(self, events):
            raise ConnectionError("store down")

    writer = EventWriter(Broken(), max_batch=100)
    future = writer.enqueue([ev("a")])
    with pytest.raises(ConnectionError):
        writer.flush()
    assert isinstance(future.exception(0), ConnectionError)


def sent(message="m1", at=NOW, variant="a"):
    return ev(f"sent-{message}", SENT, at, message=message, campaign="spring", channel=Channel.EMAIL,
              variant=variant, profile="alice", source=SOURCE_NOTIFY)


def engagement(event_id, type_, seconds, user_agent=BROWSER, message="m1", profile="alice"):
    return ev(event_id, type_, NOW + timedelta(seconds=seconds), message=message, campaign="spring",
              channel=Channel.EMAIL, variant="a", profile=profile, source=SOURCE_NOTIFY,
              properties={"user_agent": user_agent})


def test_opens_and_clicks_are_flagged_from_the_user_agent_and_the_send_time(store):
    store.insert([sent()])
    writer = EventWriter(store, settings=EnrichmentSettings(machine_delay=timedelta(seconds=10)))
    writer.enqueue([engagement("o1", OPENED, 3), engagement("o2", OPENED, 600),
                    engagement("o3", OPENED, 900, user_agent="Mozilla/5.0"),
                    engagement("c1", CLICKED, 5), engagement("c2", CLICKED, 700),
                    engagement("c3", CLICKED, 800, user_agent="Barracuda Sentinel (EE)")])
    stored = {e.event_id: e.machine for e in writer.flush().stored}
    assert stored == {"o1": True, "o2": False, "o3": True, "c1": True, "c2": False, "c3": True}


def test_the_send_in_the_same_batch_counts(store):
    writer = EventWriter(store)
    writer.enqueue([sent(message="m2"), engagement("o1", OPENED, 2, message="m2")])
    assert [e.machine for e in writer.flush().stored] == [False, True]


def test_a_purchase_is_attributed_to_the_last_human_click_within_the_window(store):
    store.insert([sent(), engagement("c-old", CLICKED, 60),
                  ev("c-other", CLICKED, NOW + timedelta(hours=1), profile="alice", campaign="summer",
                     message="m9", channel=Channel.SMS, variant="b")])
    writer = EventWriter(store, settings=EnrichmentSettings(attribution_window=timedelta(days=5)))
    outcome = writer.write([ev("p1", "purchase", NOW + timedelta(days=1), profile="alice",
                               value_micros=5_000_000, currency="EUR")])
    [purchase] = outcome.stored
    assert (purchase.campaign, purchase.message, purchase.channel, purchase.variant, purchase.attributed) == (
        "summer", "m9", Channel.SMS, "b", True)


def test_machine_clicks_and_clicks_outside_the_window_do_not_earn_the_conversion(store):
    writer = EventWriter(store)
    writer.enqueue([sent(), engagement("c-bot", CLICKED, 2000, user_agent="curl/8.4.0"),
                    ev("c-flagged", CLICKED, NOW + timedelta(hours=1), profile="alice", campaign="x", machine=True)])
    writer.flush()
    [late] = writer.write([ev("p-late", "purchase", NOW + timedelta(days=6), profile="alice")]).stored
    assert not late.attributed and late.campaign == ""
    [early] = writer.write([ev("p1", "purchase", NOW + timedelta(days=1), profile="alice")]).stored
    assert not early.attributed


def test_a_click_in_the_same_batch_earns_the_conversion_and_a_named_campaign_is_kept(store):
    writer = EventWriter(store)
    outcome = writer.write([engagement("c1", CLICKED, 3600), ev("p1", "purchase", NOW + timedelta(hours=2),
                                                                 profile="alice"),
                            ev("p2", "purchase", NOW + timedelta(hours=2), profile="alice", campaign="direct"),
                            ev("v1", "page_viewed", NOW + timedelta(hours=2), profile="alice")])
    by_id = {e.event_id: e for e in outcome.stored}
    assert by_id["p1"].campaign == "spring" and by_id["p1"].attributed
    assert by_id["p2"].campaign == "direct" and not by_id["p2"].attributed
    assert by_id["v1"].campaign == "" and not by_id["v1"].attributed


def test_the_goal_types_are_a_setting(store):
    writer = EventWriter(store, settings=EnrichmentSettings(goals=frozenset({"signup"})))
    outcome = writer.write([engagement("c1", CLICKED, 3600),
                            ev("s1", "signup", NOW + timedelta(hours=2), profile="alice"),
                            ev("p1", "purchase", NOW + timedelta(hours=2), profile="alice")])
    by_id = {e.event_id: e for e in outcome.stored}
    assert by_id["s1"].attributed and not by_id["p1"].attributed


class CountingLists(InMemoryEventStore):
    def __init__(self):
        super().__init__()
        self.list_calls = 0

    def list(self, query, limit, after=None):
        self.list_calls += 1
        return super().list(query, limit, after)


def test_sends_the_writer_stored_are_remembered_so_opens_need_no_query():
    store = CountingLists()
    writer = EventWriter(store)
    writer.enqueue([sent(message=f"m{i}") for i in range(50)])
    writer.flush()
    writer.enqueue([engagement(f"o{i}", OPENED, 3 if i % 2 else 60, message=f"m{i}") for i in range(50)])
    flagged = {e.event_id: e.machine for e in writer.flush().stored}
    assert store.list_calls == 0
    assert flagged == {f"o{i}": bool(i % 2) for i in range(50)}


def test_a_send_stored_elsewhere_is_looked_up_once_per_message():
    store = CountingLists()
    store.insert([sent(message="m1")])
    writer = EventWriter(store)
    writer.enqueue([engagement("o1", OPENED, 3), engagement("o2", OPENED, 4), engagement("c1", CLICKED, 5)])
    assert all(e.machine for e in writer.flush().stored)
    assert store.list_calls == 1


def test_a_zero_delay_judges_by_user_agent_alone():
    store = CountingLists()
    store.insert([sent(message="m1")])
    writer = EventWriter(store, settings=EnrichmentSettings(machine_delay=timedelta(0)))
    writer.enqueue([engagement("o1", OPENED, 1), engagement("o2", OPENED, 1, user_agent="Mozilla/5.0")])
    assert [e.machine for e in writer.flush().stored] == [False, True]
    assert store.list_calls == 0


def test_a_done_callback_may_enqueue_again_and_a_closed_writer_refuses(store):
    writer = EventWriter(store, max_batch=1)
    follow_up = []
    writer.enqueue([ev("a")]).add_done_callback(lambda _: follow_up.append(writer.enqueue([ev("b")])))
    assert [e.event_id for e in store.rows] == ["a", "b"] and follow_up[0].result(0).new == 1
    writer.close()
    with pytest.raises(RuntimeError):
        writer.enqueue([ev("c")])
