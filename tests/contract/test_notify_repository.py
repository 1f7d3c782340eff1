"""The notify repository's contract, on SQLite and on PostgreSQL: idempotent
acceptance, the dispatcher's claim (one conditional UPDATE; two dispatchers
never hold the same message), leases, workspace isolation, keyset pages,
providers, sending rules, inboxes, deliveries, the outbox, and the schema the
migrations build."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, select

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists

from svc_notify import migrate
from svc_notify.adapters import event_codec
from svc_notify.adapters.repositories import (RECLAIMED, SqlDeliveryRepository, SqlInboxRepository,
                                              SqlMessageRepository, SqlProviderRepository, SqlSettingsRepository)
from svc_notify.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_notify.adapters.tables import metadata, outbox
from svc_notify.domain import events
from svc_notify.domain.inbox import InboxItem
from svc_notify.domain.model import Delivery, DeliveryState, EmailContent, InAppContent, Message, SmsContent, State
from svc_notify.domain.pacing import FrequencyCap, QuietHours
from svc_notify.domain.providers import Provider, RateLimit, SmtpConfig, TwilioConfig
from svc_notify.domain.settings import NotifySettings
from svc_notify.service_layer.repositories import DeliveryFilter, InboxFilter, MessageFilter, ProviderFilter
from tests.databases import SQL_ENGINES, empty_tables, engine_fixtures

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
LEASE = NOW + timedelta(minutes=2)
VERSION_TABLE = "notify_alembic_version"


sqlite_engine, postgres_engine = engine_fixtures("notify", migrate.upgrade)


@pytest.fixture(params=SQL_ENGINES)
def engine(request) -> Engine:
    return empty_tables(request.getfixturevalue(request.param), metadata)  # every test starts on empty tables


REPOSITORIES = {"messages": SqlMessageRepository, "deliveries": SqlDeliveryRepository,
                "providers": SqlProviderRepository, "settings": SqlSettingsRepository, "inbox": SqlInboxRepository}


class Db:
    """Runs repository calls each in its own committed transaction: `db.messages.add(...)`."""

    def __init__(self, engine: Engine, repository: type | None = None):
        self.engine = engine
        self.repository = repository

    def __getattr__(self, name):
        if self.repository is None:
            return Db(self.engine, REPOSITORIES[name])

        def call(*args, **kwargs):
            with self.engine.begin() as connection:
                return getattr(self.repository(connection), name)(*args, **kwargs)
        return call


@pytest.fixture
def db(engine) -> Db:
    return Db(engine)


def msg(n: int, workspace="acme", key=None, due=NOW, **fields) -> Message:
    m = Message.accept(workspace, f"m{n:04d}", fields.pop("channel", Channel.EMAIL), fields.pop("recipient", f"u-{n}"),
                       key or f"key-{n}", due, content=fields.pop("content", EmailContent(subject="s", text="t")),
                       **fields)
    return m


# -- messages ------------------------------------------------------------------------------------------


def test_an_idempotency_key_stores_one_message_per_workspace(db):
    assert db.messages.add([msg(1), msg(2)]) == {"m0001", "m0002"}
    assert db.messages.add([msg(3, key="key-1")]) == set()  # the key is taken
    assert db.messages.add([msg(4, workspace="other", key="key-1")]) == {"m0004"}  # not in another workspace
    found = db.messages.by_keys("acme", ["key-1", "key-9"])
    assert list(found) == ["key-1"] and found["key-1"].id == "m0001"
    stored = db.messages.get("acme", "m0001")
    assert stored == msg(1)
    assert db.messages.get("other", "m0001") is None


def test_claim_takes_due_waiting_messages_once(db):
    later = msg(3, send_time=NOW + timedelta(hours=1))
    db.messages.add([msg(1), msg(2), later])
    claimed = db.messages.claim_due(NOW, 10, "lease-a", LEASE)
    assert sorted(m.id for m in claimed) == ["m0001", "m0002"]
    assert all(m.state is State.SENDING and m.lease == "lease-a" and m.due_time == LEASE and m.version == 2
               for m in claimed)
    assert db.messages.claim_due(NOW, 10, "lease-b", LEASE) == []  # held
    assert db.messages.next_due_time() == LEASE
    assert db.messages.holding("acme", ["m0001", "m0002", "m0003"], "lease-a") == {"m0001", "m0002"}
    assert db.messages.holding("acme", ["m0001"], "lease-b") == set()


def test_a_claim_respects_its_limit_and_due_order(db):
    db.messages.add([msg(i, due=NOW - timedelta(seconds=10 - i)) for i in range(5)])
    first = db.messages.claim_due(NOW, 2, "a", LEASE)
    assert sorted(m.id for m in first) == ["m0000", "m0001"]


def test_an_expired_lease_is_claimed_again_and_says_so(db):
    db.messages.add([msg(1)])
    [first] = db.messages.claim_due(NOW, 10, "dead", LEASE)
    assert db.messages.claim_due(LEASE - timedelta(seconds=1), 10, "b", LEASE + timedelta(minutes=2)) == []
    [again] = db.messages.claim_due(LEASE, 10, "b", LEASE + timedelta(minutes=2))
    assert again.lease == "b" and again.state_reason == RECLAIMED and again.version == first.version + 1
    # The dead dispatcher can no longer record an outcome.
    first.mark_sent("smtp", "<x>", NOW)
    assert db.messages.finish([first], "dead") == 0
    again.mark_sent("smtp", "<y>", LEASE)
    assert db.messages.finish([again], "b") == 1
    stored = db.messages.get("acme", "m0001")
    assert (stored.state, stored.provider_message_id, stored.lease, stored.due_time) == (State.SENT, "<y>", "", None)


def test_concurrent_claims_split_the_messages(engine, db):
    db.messages.add([msg(i) for i in range(60)])
    results: dict[str, list[str]] = {}
    barrier = threading.Barrier(3)

    def claimer(name: str) -> None:
        mine = []
        barrier.wait()
        for _ in range(30):
            mine += [m.id for m in db.messages.claim_due(NOW, 7, name, LEASE)]
        results[name] = mine

    threads = [threading.Thread(target=claimer, args=(f"d{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for ids in results.values() for i in ids]
    assert len(everything) == len(set(everything)) == 60


def test_finish_writes_the_outcome_only_under_the_lease(db):
    db.messages.add([msg(1), msg(2)])
    claimed = {m.id: m for m in db.messages.claim_due(NOW, 10, "t", LEASE)}
    claimed["m0001"].defer(NOW + timedelta(seconds=30), "transient provider error", NOW)
    claimed["m0002"].fail("permanent provider error: 550", NOW)
    assert db.messages.finish(list(claimed.values()), "other") == 0
    assert db.messages.finish(list(claimed.values()), "t") == 2
    one, two = db.messages.get("acme", "m0001"), db.messages.get("acme", "m0002")
    assert (one.state, one.next_attempt_time, one.lease) == (State.DEFERRED, NOW + timedelta(seconds=30), "")
    assert (two.state, two.due_time, two.state_reason) == (State.FAILED, None, "permanent provider error: 550")
    assert db.messages.claim_due(NOW + timedelta(seconds=30), 10, "u", LEASE)[0].id == "m0001"


def test_save_checks_the_version(db):
    db.messages.add([msg(1)])
    m = db.messages.get("acme", "m0001")
    m.cancel(NOW)
    db.messages.save(m, 1)
    with pytest.raises(Aborted):
        db.messages.save(m, 1)
    assert db.messages.get("acme", "m0001").state is State.CANCELLED


def test_lists_are_newest_first_in_keyset_pages_and_filter(db):
    db.messages.add([msg(i, channel=Channel.SMS if i % 2 else Channel.EMAIL,
                         content=SmsContent("x") if i % 2 else EmailContent(subject="s", text="t"),
                         campaign="workspaces/acme/campaigns/c1" if i < 3 else "") for i in range(6)])
    db.messages.add([msg(9, workspace="other")])
    page = db.messages.list("acme", MessageFilter(), None, 4)
    assert [m.id for m in page] == ["m0005", "m0004", "m0003", "m0002"]
    assert [m.id for m in db.messages.list("acme", MessageFilter(), "m0002", 4)] == ["m0001", "m0000"]
    assert [m.id for m in db.messages.list("acme", MessageFilter(channel=Channel.SMS), None, 10)] == [
        "m0005", "m0003", "m0001"]
    assert [m.id for m in db.messages.list("acme", MessageFilter(campaign="workspaces/acme/campaigns/c1",
                                                                  states=frozenset({State.QUEUED})), None, 10)] == [
        "m0002", "m0001", "m0000"]
    assert [m.id for m in db.messages.list("acme", MessageFilter(recipient="u-4", idempotency_key="key-4"),
                                           None, 10)] == ["m0004"]
    assert db.messages.list("acme", MessageFilter(create_time=((">", NOW),)), None, 10) == []
    assert len(db.messages.list("acme", MessageFilter(create_time=((">=", NOW),)), None, 10)) == 6
    assert db.messages.list("acme", MessageFilter(excluded_states=frozenset({State.QUEUED})), None, 10) == []


def test_recent_sends_per_recipient_and_provider_ids(db):
    db.messages.add([msg(1, recipient="ann"), msg(2, recipient="ann"), msg(3, recipient="bob")])
    for m in db.messages.claim_due(NOW, 10, "t", LEASE):
        m.mark_sent("p", f"pid-{m.id}", NOW - timedelta(hours=int(m.id[-1])))
        db.messages.finish([m], "t")
    sends = db.messages.sends_since("acme", ["ann", "bob", "cat"], NOW - timedelta(hours=2, minutes=30))
    assert sorted(sends) == ["ann"] and sorted(t for t, _ in sends["ann"]) == [
        NOW - timedelta(hours=2), NOW - timedelta(hours=1)]
    assert db.messages.find_by_provider_message_id("acme", "pid-m0003").id == "m0003"
    assert db.messages.find_by_provider_message_id("other", "pid-m0003") is None


def test_first_engagement_is_recorded_once(db):
    db.messages.add([msg(1)])
    assert db.messages.record_first("acme", "m0001", "first_click_time", NOW) is True
    assert db.messages.record_first("acme", "m0001", "first_click_time", NOW + timedelta(seconds=1)) is False
    assert db.messages.record_first("other", "m0001", "first_open_time", NOW) is False
    assert db.messages.get("acme", "m0001").first_click_time == NOW


def test_deferred_by_pacing_are_planned_again(db):
    db.messages.add([msg(1), msg(2), msg(3)])
    claimed = {m.id: m for m in db.messages.claim_due(NOW, 10, "t", LEASE)}
    claimed["m0001"].defer(NOW + timedelta(hours=8), "quiet hours until 2026-06-11 08:00 Europe/Paris", NOW,
                           planned=True)
    claimed["m0002"].defer(NOW + timedelta(hours=8), "frequency cap of 1 per 1 d on all channels reached", NOW,
                           planned=True)
    claimed["m0003"].defer(NOW + timedelta(hours=8), "transient provider error", NOW)
    db.messages.finish(list(claimed.values()), "t")
    assert db.messages.get("acme", "m0001").held_until == NOW + timedelta(hours=8)
    assert db.messages.get("acme", "m0003").held_until is None
    later = NOW + timedelta(minutes=1)
    assert db.messages.replan_deferred("acme", later) == 2
    assert sorted(m.id for m in db.messages.claim_due(later, 10, "u", LEASE)) == ["m0001", "m0002"]
    assert db.messages.get("acme", "m0001").held_until == later  # held on purpose until the new rules


def test_releasing_a_paused_campaign_ends_its_messages_hold(db):
    campaign = "workspaces/acme/campaigns/spring"
    db.messages.add([msg(1, campaign=campaign), msg(2)])
    db.messages.hold_campaign("acme", campaign, NOW)
    later = NOW + timedelta(hours=2)
    db.messages.release_campaign("acme", campaign, later)
    assert db.messages.get("acme", "m0001").held_until == later
    assert db.messages.get("acme", "m0002").held_until is None  # not the campaign's
    db.messages.release_campaign("acme", campaign, later + timedelta(hours=1))  # no hold left: nothing moves
    assert db.messages.get("acme", "m0001").held_until == later


# -- deliveries ----------------------------------------------------------------------------------------


def test_deliveries_per_message_and_for_the_workspace(db):
    db.messages.add([msg(1), msg(2)])
    items = [Delivery("acme", mid, f"d{n}", n, "smtp", state, "a@example.com", "", "451", start_time=NOW)
             for n, (mid, state) in enumerate([("m0001", DeliveryState.RETRYABLE_FAILURE),
                                               ("m0001", DeliveryState.ACCEPTED), ("m0002", DeliveryState.ACCEPTED)])]
    db.deliveries.add(items)
    assert [d.id for d in db.deliveries.list("acme", "m0001", DeliveryFilter(), None, 10)] == ["d1", "d0"]
    assert [d.id for d in db.deliveries.list("acme", None, DeliveryFilter(), None, 2)] == ["d2", "d1"]
    assert [d.id for d in db.deliveries.list("acme", None, DeliveryFilter(
        states=frozenset({DeliveryState.RETRYABLE_FAILURE})), None, 10)] == ["d0"]
    assert db.deliveries.list("other", None, DeliveryFilter(), None, 10) == []
    latest = db.deliveries.latest("acme", "m0001")
    assert latest.id == "d1"
    latest.state, latest.report_time = DeliveryState.DELIVERED, NOW
    db.deliveries.save(latest)
    assert db.deliveries.latest("acme", "m0001") == latest


# -- providers and rules -------------------------------------------------------------------------------


def provider(pid: str, channel=Channel.EMAIL, priority=0, **fields) -> Provider:
    config = SmtpConfig("smtp.example.com", 587, from_address="n@example.com") if channel is Channel.EMAIL else \
        TwilioConfig(account_sid="AC1", auth_token_secret="tw", from_number="+15550001111")
    return Provider("acme", pid, pid.upper(), channel, config, priority, create_time=NOW, update_time=NOW, **fields)


def test_providers(db):
    db.providers.add(provider("b", priority=2, rate_limit=RateLimit(5, 10)), "req-1", "fp")
    db.providers.add(provider("a", priority=2))
    db.providers.add(provider("sms", Channel.SMS, disabled=True))
    db.providers.add(provider("c", priority=1))
    with pytest.raises(AlreadyExists):
        db.providers.add(provider("a"))
    with pytest.raises(AlreadyExists):
        db.providers.add(provider("z"), "req-1", "fp")
    assert db.providers.get("acme", "b") == provider("b", priority=2, rate_limit=RateLimit(5, 10))
    assert db.providers.get("other", "b") is None
    assert db.providers.find_by_request("acme", "req-1")[0].id == "b"
    everything = db.providers.list("acme", ProviderFilter(), None, 10)
    assert [p.id for p in everything] == ["c", "a", "b", "sms"]  # EMAIL before SMS, then priority, then id
    assert [p.id for p in db.providers.list("acme", ProviderFilter(), ("EMAIL", 2, "a"), 10)] == ["b", "sms"]
    assert [p.id for p in db.providers.list("acme", ProviderFilter(disabled=True), None, 10)] == ["sms"]
    assert [p.id for p in db.providers.enabled("acme")] == ["c", "a", "b"]
    changed = db.providers.get("acme", "a")
    changed.display_name, changed.version = "Renamed", 2
    db.providers.save(changed, 1)
    with pytest.raises(Aborted):
        db.providers.save(changed, 1)
    assert db.providers.remove("acme", "a", 1) is False
    assert db.providers.remove("acme", "a", 2) is True
    assert db.providers.remove("acme", "c", None) is True


def test_settings_start_empty_and_keep_their_version(db):
    empty = db.settings.get("acme")
    assert (empty.quiet_hours, empty.frequency_caps, empty.version) == ((), (), 0)
    rules = NotifySettings("acme", (QuietHours(time(21), time(8), frozenset({1, 2}), frozenset({Channel.SMS})),),
                           (FrequencyCap(3, timedelta(days=1), Channel.EMAIL),), "Europe/Paris", NOW, 1)
    db.settings.save(rules, 0)
    assert db.settings.get("acme") == rules
    with pytest.raises(Aborted):
        db.settings.save(rules, 0)
    rules.version = 2
    db.settings.save(rules, 1)
    assert db.settings.get("acme").version == 2 and db.settings.get("other").version == 0


# -- inbox ---------------------------------------------------------------------------------------------


def test_inboxes(db):
    items = [InboxItem("acme", "u-1", f"i{n}", f"m{n}", InAppContent(f"t{n}", "b", actions=(("Open", "app://x"),)),
                       "workspaces/acme/campaigns/c" if n == 2 else "", create_time=NOW + timedelta(seconds=n),
                       expire_time=NOW - timedelta(seconds=1) if n == 3 else None) for n in range(4)]
    db.inbox.add(items)
    db.inbox.add([InboxItem("acme", "u-1", "i9", "m1", InAppContent("again"), create_time=NOW)])  # same message
    db.inbox.add([InboxItem("acme", "u-2", "j1", "mx", InAppContent("other"), create_time=NOW)])
    live = db.inbox.list("acme", "u-1", InboxFilter(), None, 10, NOW)
    assert [i.id for i in live] == ["i2", "i1", "i0"]  # newest first; expired left out; no duplicate
    assert live[0].content.actions == (("Open", "app://x"),)
    assert [i.id for i in db.inbox.list("acme", "u-1", InboxFilter(), "i2", 1, NOW)] == ["i1"]
    summary = db.inbox.summary("acme", "u-1", NOW)
    assert (summary.unread_count, summary.total_count, summary.update_time) == (3, 3, NOW + timedelta(seconds=2))
    assert db.inbox.mark_read("acme", "u-1", ["i0", "j1"], NOW) == 1
    assert db.inbox.mark_read("acme", "u-1", ["i0"], NOW) == 0
    assert [i.id for i in db.inbox.list("acme", "u-1", InboxFilter(read=False), None, 10, NOW)] == ["i2", "i1"]
    assert [i.id for i in db.inbox.list("acme", "u-1", InboxFilter(campaign="workspaces/acme/campaigns/c"),
                                              None, 10, NOW)] == ["i2"]
    assert db.inbox.mark_read("acme", "u-1", None, NOW) == 2
    assert db.inbox.summary("acme", "u-1", NOW).unread_count == 0
    assert db.inbox.delete("acme", "u-1", "i1") is True
    assert db.inbox.delete("acme", "u-1", "i1") is False
    assert db.inbox.delete("acme", "u-2", "i0") is False
    assert db.inbox.summary("acme", "u-9", NOW).total_count == 0


# -- the outbox and the schema -------------------------------------------------------------------------


def test_events_commit_with_the_change_in_the_outbox(engine):
    m = msg(1)
    with SqlUnitOfWork(engine) as uow:
        uow.messages.add([m])
        uow.record(events.event(events.SENT, m, NOW, provider="workspaces/acme/providers/p", attempt=1))
        uow.commit()
    with SqlUnitOfWork(engine) as uow:  # rolled back: neither the change nor its event
        uow.messages.add([msg(2)])
        uow.record(events.event(events.FAILED, msg(2), NOW, reason="x"))
    with engine.connect() as connection:
        rows = connection.execute(select(outbox)).all()
    assert len(rows) == 1 and rows[0].key == "workspaces/acme/messages/m0001"
    record = event_codec.SCHEMA.decode(rows[0].value)
    assert record["event_type"] == "message_sent" and record["aggregate_id"] == "m0001"
    assert record["payload"]["message"]["recipient"] == "workspaces/acme/profiles/u-1"
    assert record["payload"]["provider"] == "workspaces/acme/providers/p" and record["payload"]["attempt"] == 1


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_migrations_match_the_tables_module(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []
        assert {t.name for t in metadata.sorted_tables} | {VERSION_TABLE} <= set(inspect(connection).get_table_names())
        drifted = MetaData()
        for table in metadata.sorted_tables:
            table.to_metadata(drifted)
        drifted.tables["notify_messages"].append_column(Column("priority", Integer))
        diff = compare_metadata(context, drifted)
        assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "notify_messages", "priority")]
