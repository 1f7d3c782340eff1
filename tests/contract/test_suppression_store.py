"""The suppression store on both MongoDB-wire servers (nx-27017, the embedded
default, and FerretDB 1.x on SQLite): one entry per subject and channel, bulk
imports in chunks (FerretDB never answers an update command in which 100 or
more statements match), the list filter, and the queries reachability and
member lists rely on."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists, InvalidArgument

from svc_audience.adapters.suppression_store import SuppressionStore
from svc_audience.domain.suppression import Entry, Reason
from svc_audience.service_layer import suppressions as handlers

T0 = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)  # milliseconds: BSON dates keep no more
IMPORTED = 250  # more than 100 matching statements: needs the chunks of 90 on FerretDB


class Clock:
    def __init__(self, step=timedelta(minutes=1)):
        self.now, self.step = T0, step

    def __call__(self):
        self.now += self.step
        return self.now


def ids():
    counter = itertools.count(1)
    return lambda: f"s{next(counter):05d}"


@pytest.fixture(params=["nx", "ferretdb"])
def store(request):
    server = request.getfixturevalue(f"{request.param}_server")
    # A socket timeout turns a server that never answers into a failure, not a stuck run.
    client = MongoClient(server.url, tz_aware=True, socketTimeoutMS=60_000)
    database = client[f"contract_{uuid.uuid4().hex[:10]}"]
    store = SuppressionStore(database)
    store.ensure_indexes()
    yield store
    client.drop_database(database.name)
    client.close()


def email(address, channel=Channel.EMAIL, reason=Reason.BOUNCED, **kw):
    return Entry("email", address, channel, reason, **kw)


def test_one_entry_per_subject_and_channel(store):
    clock, new_id = Clock(), ids()
    first = handlers.create_suppression("acme", email("ann@example.com"), store, clock, new_id)
    with pytest.raises(AlreadyExists) as caught:
        handlers.create_suppression("acme", email("ANN@example.com", reason=Reason.MANUAL), store, clock, new_id)
    assert caught.value.metadata == {"existing": first.name}
    assert first.name in caught.value.message
    handlers.create_suppression("acme", email("ann@example.com", channel=None), store, clock, new_id)
    handlers.create_suppression("other", email("ann@example.com"), store, clock, new_id)
    handlers.create_suppression("acme", Entry("profile", "ann@example.com", Channel.EMAIL, Reason.MANUAL), store,
                                clock, new_id)  # another kind of subject with the same text
    assert store.suppressions.count_documents({}) == 4


def test_an_entry_round_trips_and_writes_are_guarded_by_the_version(store):
    clock = Clock()
    created = handlers.create_suppression(
        "acme", email("ann@example.com", note="550 5.1.1", source="notify:bounce",
                      expire_time=T0 + timedelta(days=30), campaign="spring"), store, clock, ids())
    got = store.get("acme", created.suppression_id)
    assert got == created and got.create_time.tzinfo is not None and got.version == 1
    updated = handlers.update_suppression("acme", created.suppression_id, None, "mailbox gone", None,
                                          frozenset({"note", "expire_time"}), created.etag, store, clock)
    got = store.get("acme", created.suppression_id)
    assert got == updated and got.expire_time is None and got.version == 2
    assert isinstance(store.suppressions.find_one({"suppression_id": created.suppression_id})["update_time"],
                      datetime)  # a date, not text, so that it sorts and compares as one
    with pytest.raises(Aborted):
        store.save(updated, expected_version=1)
    with pytest.raises(Aborted, match="stale"):
        handlers.update_suppression("acme", created.suppression_id, None, "x", None, frozenset({"note"}),
                                    created.etag, store, clock)


def test_a_bulk_import_inserts_then_updates_in_chunks(store):
    clock, new_id = Clock(timedelta(seconds=1)), ids()
    records = [handlers.ImportRecord(i + 2, email(f"u{i}@example.com")) for i in range(IMPORTED)]
    records.append(handlers.ImportRecord(IMPORTED + 2, email("broken")))
    summary = handlers.ImportSummary()
    handlers.import_batch("acme", records, False, store, clock, new_id, summary)
    assert (summary.inserted, summary.updated) == (IMPORTED, 0)
    assert summary.rejections == [(IMPORTED + 2, "broken", "email", "'broken' is not an email address")]

    again = [handlers.ImportRecord(i + 2, email(f"u{i}@example.com", reason=Reason.COMPLAINED, note=f"n{i}"))
             for i in range(IMPORTED)]
    summary = handlers.ImportSummary()
    handlers.import_batch("acme", again, False, store, clock, new_id, summary)  # 250 replaces that all match
    assert (summary.inserted, summary.updated, summary.rejected) == (0, IMPORTED, 0)
    stored = list(store.stream("acme", (), 100))
    assert len(stored) == IMPORTED
    assert {(s.reason, s.version) for s in stored} == {(Reason.COMPLAINED, 2)}
    assert {s.note for s in stored} == {f"n{i}" for i in range(IMPORTED)}


def test_save_many_reports_the_keys_another_writer_took(store):
    clock, new_id = Clock(), ids()
    taken = handlers.create_suppression("acme", email("taken@example.com"), store, clock, new_id)
    mine = handlers._new("acme", email("taken@example.com"), new_id, clock())
    fresh = handlers._new("acme", email("fresh@example.com"), new_id, clock())
    stale = (handlers.refreshed(taken, email("taken@example.com", note="late"), clock()), 7)
    conflicts = store.save_many([mine, fresh], [stale])
    assert conflicts == {taken.key}
    assert store.find("acme", fresh.key) == fresh
    assert store.get("acme", taken.suppression_id) == taken


def populate(store):
    clock, new_id = Clock(timedelta(hours=1)), ids()
    entries = [
        email("ann@example.com"),  # s00001 at T0+1h
        email("bob@example.com", reason=Reason.UNSUBSCRIBED),  # s00002 at +2h
        email("ann@example.com", channel=None, reason=Reason.MANUAL, source="import"),  # +3h
        Entry("phone", "+33612345678", Channel.SMS, Reason.COMPLAINED),  # +4h
        Entry("profile", "u-1", None, Reason.MANUAL),  # +5h
        Entry("profile", "u-2", Channel.PUSH, Reason.UNSUBSCRIBED),  # +6h
    ]
    made = [handlers.create_suppression("acme", e, store, clock, new_id) for e in entries]
    handlers.create_suppression("other", email("ann@example.com"), store, clock, new_id)
    return made


@pytest.mark.parametrize(("text", "expected"), [
    ("", [6, 5, 4, 3, 2, 1]),  # newest first
    ("channel = CHANNEL_EMAIL", [2, 1]),
    ("channel = CHANNEL_UNSPECIFIED", [5, 3]),
    ("channel != CHANNEL_EMAIL", [6, 5, 4, 3]),
    ("reason = REASON_UNSUBSCRIBED", [6, 2]),
    ("reason != MANUAL AND channel != CHANNEL_SMS", [6, 2, 1]),
    ('email = "ANN@example.com"', [3, 1]),
    ('email != "ann@example.com"', [6, 5, 4, 2]),
    ('phone = "+33612345678"', [4]),
    ('profile = "workspaces/acme/profiles/u-1"', [5]),
    ("profile = u-2", [6]),
    ("source = import", [3]),
    ('create_time >= "2026-03-01T15:00:00.123Z"', [6, 5, 4, 3]),
    ('create_time > "2026-03-01T15:00:00.123Z" AND create_time <= "2026-03-01T17:00:00.123Z"', [5, 4]),
    ('create_time < "2026-03-01T14:30:00+01:00"', [1]),  # 13:30 UTC
    ('create_time = "2026-03-01T14:00:00.123Z"', [2]),
    ('email = "ann@example.com" AND channel = CHANNEL_EMAIL', [1]),
])
def test_the_list_filter(store, text, expected):
    populate(store)
    page, token = handlers.list_suppressions("acme", text, 100, "", store)
    assert [int(s.suppression_id[1:]) for s in page] == expected
    assert token == ""
    exported = list(handlers.export_suppressions("acme", text, 2, store))  # the same filter, oldest first
    assert [int(s.suppression_id[1:]) for s in exported] == sorted(expected)


def test_pages_follow_the_filter_and_a_token_is_bound_to_it(store):
    populate(store)
    seen, token = [], ""
    while True:
        page, token = handlers.list_suppressions("acme", "channel != CHANNEL_SMS", 2, token, store)
        seen += [s.suppression_id for s in page]
        if not token:
            break
        with pytest.raises(InvalidArgument, match="different filter"):
            handlers.list_suppressions("acme", "", 2, token, store)
    assert seen == ["s00006", "s00005", "s00003", "s00002", "s00001"]
    with pytest.raises(InvalidArgument, match="filter: cannot filter on 'nope'"):
        handlers.list_suppressions("acme", "nope = 1", 2, "", store)


def test_entries_naming_profiles_and_the_member_exclusion_skip_expired_ones(store):
    made = populate(store)
    clock = Clock()
    clock.now = T0 + timedelta(days=1)
    handlers.create_suppression("acme", Entry("profile", "u-3", Channel.EMAIL, Reason.MANUAL,
                                              expire_time=T0 + timedelta(days=2)), store, clock, lambda: "s09999")
    named = store.naming("acme", Channel.EMAIL, ["u-1", "u-3", "u-9"], ["ann@example.com", ""], ["+33612345678"])
    assert sorted(s.subject for s in named) == ["ann@example.com", "ann@example.com", "u-1", "u-3"]
    assert store.naming("acme", Channel.SMS, [], [], ["+33612345678"]) == [made[3]]
    assert store.naming("acme", Channel.SMS, [], [], []) == []
    live = store.exclusion("acme", Channel.EMAIL, T0 + timedelta(days=1, hours=1))
    assert sorted(live["external_id"]["$nin"]) == ["u-1", "u-3"]
    excluded = store.exclusion("acme", Channel.EMAIL, T0 + timedelta(days=3))
    assert sorted(excluded["external_id"]["$nin"]) == ["u-1"]  # u-3's entry has expired
    assert sorted(excluded["email"]["$nin"]) == ["ann@example.com", "ann@example.com", "bob@example.com"]


def test_entries_stored_before_versions_get_one(store):
    store.suppressions.insert_one({"workspace": "acme", "suppression_id": "legacy", "subject_kind": "email",
                                   "subject": "old@example.com", "channel": "EMAIL", "reason": "MANUAL",
                                   "note": "", "source": "", "campaign": "", "expire_time": None,
                                   "create_time": T0})
    store.ensure_indexes()
    legacy = store.get("acme", "legacy")
    assert legacy.version == 1 and legacy.update_time == T0
    updated = handlers.update_suppression("acme", "legacy", None, "kept", None, frozenset({"note"}), legacy.etag,
                                          store, Clock())
    assert store.get("acme", "legacy") == updated
