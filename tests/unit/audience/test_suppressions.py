"""Suppression rules: validation, expiry, message categories, reachability, the
list filter, and the use cases over an in-memory store."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists, InvalidArgument, NotFound
from svc_kit.signing import LinkClaims

from svc_audience.domain.model import Consent, ConsentStatus, DeviceToken, Profile
from svc_audience.domain.suppression import (
    Category,
    Condition,
    Entry,
    Reason,
    Suppression,
    Unreachable,
    parse_suppression_filter,
    reachability,
    validated,
)
from svc_audience.service_layer import suppressions as handlers

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


class FakeSuppressionStore:
    """The parts of SuppressionStore the use cases call, in memory, with its unique keys."""

    def __init__(self):
        self.rows: dict[tuple[str, str], Suppression] = {}
        self.bulk_writes: list[int] = []

    def _by_key(self, workspace, key):
        return next((s for (w, _), s in self.rows.items() if w == workspace and s.key == key), None)

    def add(self, s):
        if (s.workspace, s.suppression_id) in self.rows:
            raise AlreadyExists(f"{s.name} already exists")
        if (existing := self._by_key(s.workspace, s.key)) is not None:
            raise AlreadyExists(f"already suppressed by {existing.name}", metadata={"existing": existing.name})
        self.rows[(s.workspace, s.suppression_id)] = s

    def get(self, workspace, suppression_id):
        return copy.deepcopy(self.rows.get((workspace, suppression_id)))

    def find(self, workspace, key):
        return self._by_key(workspace, key)

    def save(self, s, expected_version):
        current = self.rows.get((s.workspace, s.suppression_id))
        if current is None or current.version != expected_version:
            raise Aborted("changed by another request")
        self.rows[(s.workspace, s.suppression_id)] = s

    def remove(self, workspace, suppression_id, version=None):
        current = self.rows.get((workspace, suppression_id))
        if current is None or (version is not None and current.version != version):
            return False
        del self.rows[(workspace, suppression_id)]
        return True

    def find_many(self, workspace, keys):
        return {k: s for k in keys if (s := self._by_key(workspace, k)) is not None}

    def save_many(self, added, replaced):
        self.bulk_writes.append(len(added) + len(replaced))
        conflicts = set()
        for s in added:
            try:
                self.add(s)
            except AlreadyExists:
                conflicts.add(s.key)
        for s, expected in replaced:
            try:
                self.save(s, expected)
            except Aborted:
                conflicts.add(s.key)
        return conflicts


@pytest.fixture
def store():
    return FakeSuppressionStore()


def ids():
    counter = itertools.count(1)
    return lambda: f"s{next(counter):03d}"


def entry(kind="email", subject="ann@example.com", channel=Channel.EMAIL, reason=Reason.BOUNCED, **kw):
    return Entry(kind, subject, channel, reason, **kw)


def suppression(kind="email", subject="ann@example.com", channel=Channel.EMAIL, reason=Reason.BOUNCED,
                expire_time=None, suppression_id="s1", create_time=T0):
    return Suppression("acme", suppression_id, kind, subject, channel, reason, expire_time=expire_time,
                       create_time=create_time)


ANN = Profile("acme", "u-1", email="ann@example.com", phone="+33612345678",
              device_tokens=(DeviceToken("tok"),),
              consents={c: Consent(ConsentStatus.GRANTED, T0) for c in Channel})

# -- validation --------------------------------------------------------------------------------------------


def test_an_entry_is_normalised():
    assert validated(entry(subject=" Ann@Example.COM "), T0).subject == "ann@example.com"
    assert validated(entry("phone", "+33612345678", Channel.SMS), T0).subject == "+33612345678"
    assert validated(entry("profile", "u-1", Channel.PUSH), T0).channel is Channel.PUSH
    assert validated(entry(channel=None), T0).channel is None


@pytest.mark.parametrize(("bad", "field", "words"), [
    (entry(subject="nope"), "suppression.email", "not an email address"),
    (entry("phone", "0612", Channel.SMS), "suppression.phone", "E.164"),
    (entry("profile", "no spaces allowed"), "suppression.profile", "not a profile"),
    (entry("", ""), "suppression", "set one of email, phone or profile"),
    (entry(channel=Channel.SMS), "suppression.channel", "CHANNEL_EMAIL or every channel"),
    (entry("phone", "+33612345678", Channel.EMAIL), "suppression.channel", "CHANNEL_SMS or every channel"),
    (entry(reason=None), "suppression.reason", "required"),
    (entry(note="x" * 1001), "suppression.note", "1,000"),
    (entry(source="x" * 201), "suppression.source", "200"),
    (entry(expire_time=T0), "suppression.expire_time", "in the future"),
])
def test_a_bad_entry_names_the_field(bad, field, words):
    with pytest.raises(InvalidArgument) as caught:
        validated(bad, T0)
    assert caught.value.violations[0].field == field
    assert words in caught.value.violations[0].description


# -- which entries apply -------------------------------------------------------------------------------------


def test_an_expired_entry_no_longer_applies():
    lasting = suppression(expire_time=T0 + timedelta(days=1))
    assert lasting.applies(ANN, Channel.EMAIL, Category.MARKETING, T0)
    assert not lasting.applies(ANN, Channel.EMAIL, Category.MARKETING, T0 + timedelta(days=1))
    assert suppression().active(T0 + timedelta(days=10_000))


def test_an_entry_matches_its_channel_or_every_channel_and_its_subject():
    assert suppression().matches(ANN, Channel.EMAIL)
    assert not suppression().matches(ANN, Channel.SMS)
    assert suppression(channel=None).matches(ANN, Channel.SMS)  # a global email entry blocks the person
    assert suppression("phone", "+33612345678", Channel.SMS).matches(ANN, Channel.SMS)
    assert suppression("profile", "u-1", None).matches(ANN, Channel.PUSH)
    assert not suppression("profile", "u-2", None).matches(ANN, Channel.PUSH)
    assert not suppression(subject="bob@example.com").matches(ANN, Channel.EMAIL)
    assert not suppression(subject="").matches(Profile("acme", "u-9"), Channel.EMAIL)


@pytest.mark.parametrize(("reason", "blocks_transactional"), [
    (Reason.UNSUBSCRIBED, False), (Reason.BOUNCED, True), (Reason.COMPLAINED, True), (Reason.MANUAL, True)])
def test_transactional_messages_skip_only_unsubscribes(reason, blocks_transactional):
    s = suppression(reason=reason)
    assert s.blocks(Category.MARKETING)
    assert s.blocks(Category.TRANSACTIONAL) is blocks_transactional


# -- reachability ------------------------------------------------------------------------------------------


def check(profile, channel=Channel.EMAIL, category=Category.MARKETING, entries=()):
    return reachability("u-1", profile, channel, category, list(entries), T0)


def test_reachability_reasons_in_order():
    assert check(None).reason is Unreachable.NOT_FOUND
    assert check(Profile("acme", "u-1", consents=ANN.consents)).reason is Unreachable.NO_ADDRESS
    assert check(Profile("acme", "u-1", email="a@b.co", consents=ANN.consents), Channel.PUSH).reason \
        is Unreachable.NO_ADDRESS
    assert check(Profile("acme", "u-1"), Channel.IN_APP).reason is Unreachable.NO_CONSENT  # needs no address
    denied = Profile("acme", "u-1", email="ann@example.com",
                     consents={Channel.EMAIL: Consent(ConsentStatus.DENIED, T0)})
    assert check(denied).reason is Unreachable.NO_CONSENT
    assert check(denied, category=Category.TRANSACTIONAL).reachable  # consent is for marketing only
    assert check(ANN).reachable and check(ANN).suppression is None


def test_reachability_names_the_oldest_entry_that_applies():
    unsubscribed = suppression("profile", "u-1", Channel.EMAIL, Reason.UNSUBSCRIBED, suppression_id="s2",
                               create_time=T0 - timedelta(days=2))
    bounced = suppression(reason=Reason.BOUNCED, suppression_id="s3", create_time=T0 - timedelta(days=1))
    expired = suppression(channel=None, reason=Reason.MANUAL, suppression_id="s1",
                          create_time=T0 - timedelta(days=9), expire_time=T0)
    other_channel = suppression("profile", "u-1", Channel.SMS, Reason.MANUAL, suppression_id="s0",
                                create_time=T0 - timedelta(days=9))
    entries = [bounced, unsubscribed, expired, other_channel]
    marketing = check(ANN, entries=entries)
    assert marketing.reason is Unreachable.SUPPRESSED and marketing.suppression == unsubscribed
    transactional = check(ANN, category=Category.TRANSACTIONAL, entries=entries)
    assert transactional.reason is Unreachable.SUPPRESSED and transactional.suppression == bounced
    assert check(ANN, category=Category.TRANSACTIONAL, entries=[unsubscribed, expired]).reachable


# -- the filter --------------------------------------------------------------------------------------------


def test_the_filter_reads_every_field():
    conditions = parse_suppression_filter(
        'channel = CHANNEL_EMAIL AND reason != bounced AND email = "Ann@Example.com" AND phone = "+33612345678"'
        ' AND profile = "workspaces/acme/profiles/u-1" AND source = import AND create_time >= "2026-03-01T00:00:00Z"'
        ' AND create_time < "2026-03-02T00:00:00+01:00" AND channel = CHANNEL_UNSPECIFIED', "acme")
    assert conditions == (
        Condition("channel", "=", Channel.EMAIL), Condition("reason", "!=", Reason.BOUNCED),
        Condition("email", "=", "ann@example.com"), Condition("phone", "=", "+33612345678"),
        Condition("profile", "=", "u-1"), Condition("source", "=", "import"),
        Condition("create_time", ">=", T0),
        Condition("create_time", "<", datetime(2026, 3, 1, 23, tzinfo=UTC)),
        Condition("channel", "=", None))
    assert parse_suppression_filter("", "acme") == ()


@pytest.mark.parametrize(("text", "words"), [
    ("name = x", "cannot filter on 'name'"),
    ("channel = FAX", "unknown channel 'FAX'"),
    ("reason = SPAM", "unknown reason 'SPAM'"),
    ('create_time > "yesterday"', "not an RFC 3339 time"),
    ('create_time > "2026-03-01T00:00:00"', "needs a time zone"),
    ("reason > REASON_BOUNCED", "compares with = or != only"),
    ("email:*", "not supported"),
    ('profile = "workspaces/other/profiles/u-1"', "is not `workspaces/acme/profiles/{id}`"),
    ("channel = EMAIL OR reason = MANUAL", "expected AND"),
    ("create_time >> 3", "expected a value"),
])
def test_a_bad_filter_says_what_is_wrong(text, words):
    with pytest.raises(InvalidArgument) as caught:
        parse_suppression_filter(text, "acme")
    assert caught.value.violations[0].field == "filter"
    assert words in caught.value.violations[0].description


# -- use cases ---------------------------------------------------------------------------------------------


def test_a_second_entry_for_a_subject_and_channel_names_the_first(store):
    clock, new_id = Clock(), ids()
    first = handlers.create_suppression("acme", entry(subject="Ann@Example.com"), store, clock, new_id)
    with pytest.raises(AlreadyExists) as caught:
        handlers.create_suppression("acme", entry(reason=Reason.MANUAL), store, clock, new_id)
    assert caught.value.metadata == {"existing": first.name}
    handlers.create_suppression("acme", entry(channel=None), store, clock, new_id)  # another channel: fine
    handlers.create_suppression("other", entry(), store, clock, new_id)  # another workspace: fine


def test_an_expired_entry_is_replaced_by_a_new_one(store):
    clock, new_id = Clock(), ids()
    old = handlers.create_suppression("acme", entry(expire_time=T0 + timedelta(seconds=5)), store, clock, new_id)
    clock.now = T0 + timedelta(seconds=10)
    new = handlers.create_suppression("acme", entry(reason=Reason.MANUAL), store, clock, new_id)
    assert new.suppression_id != old.suppression_id and store.get("acme", old.suppression_id) is None


def test_update_changes_the_masked_fields_and_checks_the_etag(store):
    clock = Clock()
    created = handlers.create_suppression("acme", entry(note="550"), store, clock, ids())
    later = T0 + timedelta(days=30)
    updated = handlers.update_suppression("acme", created.suppression_id, Reason.MANUAL, "ignored", later,
                                          frozenset({"reason", "expire_time"}), created.etag, store, clock)
    assert (updated.reason, updated.note, updated.expire_time) == (Reason.MANUAL, "550", later)
    assert updated.version == 2 and updated.etag != created.etag and updated.update_time > created.update_time
    with pytest.raises(Aborted, match="stale"):
        handlers.update_suppression("acme", created.suppression_id, None, "x", None, frozenset({"note"}),
                                    created.etag, store, clock)
    cleared = handlers.update_suppression("acme", created.suppression_id, None, "", None,
                                          frozenset({"note", "expire_time"}), "", store, clock)
    assert cleared.note == "" and cleared.expire_time is None
    with pytest.raises(InvalidArgument, match="update_mask"):
        handlers.update_suppression("acme", created.suppression_id, None, "", None, frozenset({"channel"}), "",
                                    store, clock)
    with pytest.raises(InvalidArgument, match="suppression.reason"):
        handlers.update_suppression("acme", created.suppression_id, None, "", None, frozenset({"reason"}), "",
                                    store, clock)
    with pytest.raises(NotFound):
        handlers.update_suppression("acme", "nope", None, "", None, frozenset({"note"}), "", store, clock)


def test_delete_checks_the_etag_when_given(store):
    created = handlers.create_suppression("acme", entry(), store, Clock(), ids())
    with pytest.raises(Aborted):
        handlers.delete_suppression("acme", created.suppression_id, "0000", store)
    handlers.delete_suppression("acme", created.suppression_id, created.etag, store)
    with pytest.raises(NotFound):
        handlers.delete_suppression("acme", created.suppression_id, "", store)


def test_import_counts_inserted_updated_and_rejected_lines(store):
    clock, new_id = Clock(), ids()
    existing = handlers.create_suppression("acme", entry(subject="old@example.com"), store, clock, new_id)
    records = [
        handlers.ImportRecord(2, entry(subject="old@example.com", reason=Reason.COMPLAINED, note="fbl")),
        handlers.ImportRecord(3, entry(subject="new@example.com")),
        handlers.ImportRecord(4, entry(subject="not-an-email")),
        handlers.ImportRecord(5, entry("phone", "+33612345678", Channel.SMS)),
        handlers.ImportRecord(6, entry(subject="NEW@example.com", note="again")),  # the same key: last wins
        handlers.ImportRecord(7, entry(reason=None)),
    ]
    summary = handlers.ImportSummary(received=len(records))
    handlers.import_batch("acme", records, False, store, clock, new_id, summary)
    assert (summary.inserted, summary.updated, summary.rejected) == (2, 1, 2)
    assert [(line, field) for line, _, field, _ in summary.rejections] == [(4, "email"), (7, "reason")]
    refreshed = store.get("acme", existing.suppression_id)
    assert (refreshed.reason, refreshed.note, refreshed.version) == (Reason.COMPLAINED, "fbl", 2)
    assert store.find("acme", ("email", "new@example.com", Channel.EMAIL)).note == "again"
    assert store.bulk_writes == [3]  # one bulk write for the batch

    checked = handlers.ImportSummary()
    handlers.import_batch("acme", [handlers.ImportRecord(1, entry(subject="x@example.com"))], True, store, clock,
                          new_id, checked)
    assert store.find("acme", ("email", "x@example.com", Channel.EMAIL)) is None


def test_unsubscribe_is_idempotent_and_stays_in_its_workspace(store):
    clock, new_id = Clock(), ids()
    claims = LinkClaims("acme", "u-1", Channel.EMAIL, "spring", T0)
    first = handlers.unsubscribe("acme", claims, store, clock, new_id)
    assert (first.subject_kind, first.subject, first.channel, first.reason, first.source, first.campaign) == \
        ("profile", "u-1", Channel.EMAIL, Reason.UNSUBSCRIBED, "unsubscribe-link", "spring")
    assert handlers.unsubscribe("acme", claims, store, clock, new_id) == first
    with pytest.raises(InvalidArgument, match="another workspace"):
        handlers.unsubscribe("other", claims, store, clock, new_id)


def test_every_use_of_an_unsubscribe_link_is_announced_but_a_refused_one_is_not(store):
    clock, new_id, announced = Clock(), ids(), []
    claims = LinkClaims("acme", "u-1", Channel.EMAIL, "spring", T0)
    announce = lambda c, now: announced.append((c, now))  # noqa: E731
    handlers.unsubscribe("acme", claims, store, clock, new_id, announce)
    handlers.unsubscribe("acme", claims, store, clock, new_id, announce)  # the entry exists: still announced
    with pytest.raises(InvalidArgument):
        handlers.unsubscribe("other", claims, store, clock, new_id, announce)
    assert [c for c, _ in announced] == [claims, claims]


def test_the_unsubscribe_event_names_profile_channel_and_campaign_and_fits_the_schema():
    from svc_audience.adapters import events
    entry = events.unsubscribe_entry(LinkClaims("acme", "u-1", Channel.SMS, "spring", T0), T0)
    assert entry.key == "u-1" and entry.topic == events.TOPIC
    assert entry.record["event_type"] == "profile_unsubscribed"
    decoded = events.SCHEMA.decode(events.SCHEMA.encode(entry.record))
    assert decoded["payload"] == {"profile": "workspaces/acme/profiles/u-1", "channel": "SMS",
                                  "campaign": "workspaces/acme/campaigns/spring"}
    no_campaign = events.unsubscribe_entry(LinkClaims("acme", "u-1", None, "", T0), T0)
    assert events.SCHEMA.decode(events.SCHEMA.encode(no_campaign.record))["payload"]["campaign"] == ""


def test_an_import_meeting_another_writer_applies_its_records_again(store):
    clock, new_id = Clock(), ids()
    raced = {"done": False}
    save_many = store.save_many

    def racing_save_many(added, replaced):  # someone adds the same key just before the bulk write
        if not raced["done"]:
            raced["done"] = True
            handlers.create_suppression("acme", entry(subject="race@example.com", note="theirs"), store, clock,
                                        new_id)
        return save_many(added, replaced)

    store.save_many = racing_save_many
    summary = handlers.ImportSummary()
    handlers.import_batch("acme", [handlers.ImportRecord(2, entry(subject="race@example.com", note="mine")),
                                   handlers.ImportRecord(3, entry(subject="calm@example.com"))],
                          False, store, clock, new_id, summary)
    assert (summary.inserted, summary.updated, summary.rejected) == (1, 1, 0)
    assert store.find("acme", ("email", "race@example.com", Channel.EMAIL)).note == "mine"
