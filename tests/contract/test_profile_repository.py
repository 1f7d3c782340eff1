"""One profile-repository contract, three implementations: the in-memory fake,
and MongoProfileRepository on both MongoDB-wire servers (nx-27017, the
embedded default, and FerretDB 1.x on SQLite)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists

from svc_audience.adapters.repository import MongoProfileRepository, ensure_indexes
from svc_audience.domain.model import Consent, ConsentStatus, DeviceToken, Profile, ProfileData
from tests.fakes_audience import FakeProfileRepository

T0 = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)  # millisecond precision: BSON dates keep no more


@pytest.fixture(params=["fake", "nx", "ferretdb"])
def repo(request):
    if request.param == "fake":
        yield FakeProfileRepository()
        return
    server = request.getfixturevalue(f"{request.param}_server")
    # A socket timeout turns a server that never answers into a failure, not a stuck run.
    client = MongoClient(server.url, tz_aware=True, socketTimeoutMS=60_000)
    database = client[f"contract_{uuid.uuid4().hex[:10]}"]
    ensure_indexes(database)
    yield MongoProfileRepository(database)
    client.drop_database(database.name)
    client.close()


def full_profile(workspace="acme", external_id="u-1") -> Profile:
    return Profile(workspace, external_id).merged(ProfileData(
        email="ann@example.com", phone="+33612345678", time_zone="Europe/Paris", locale="fr-FR",
        device_tokens=(DeviceToken("tok-1", "IOS", "com.example.app", T0),),
        attributes={"ltv": 120.5, "visits": 3, "vip": True, "birthday": T0 - timedelta(days=9000),
                    "plan": "pro", "tags": ("shoes", "sale")},
        consents={Channel.EMAIL: Consent(ConsentStatus.GRANTED, T0, "signup-form"),
                  Channel.SMS: Consent(ConsentStatus.DENIED, T0)},
    ), (), T0)


def test_a_fully_populated_profile_roundtrips_with_its_types(repo):
    profile = full_profile()
    repo.add(profile)
    got = repo.get("acme", "u-1")
    assert got == profile
    assert type(got.attributes["visits"]) is int and type(got.attributes["ltv"]) is float
    assert type(got.attributes["vip"]) is bool and isinstance(got.attributes["birthday"], datetime)


def test_the_external_id_is_unique_per_workspace_only(repo):
    repo.add(full_profile())
    with pytest.raises(AlreadyExists):
        repo.add(full_profile())
    repo.add(full_profile(workspace="other"))
    assert repo.get("other", "u-1").workspace == "other"
    assert repo.get("nowhere", "u-1") is None


def test_save_is_guarded_by_the_version(repo):
    profile = full_profile()
    repo.add(profile)
    changed = profile.merged(ProfileData(locale="de-DE", attributes={"visits": 4}), (), T0 + timedelta(seconds=1))
    repo.save(changed, expected_version=1)
    stale = profile.merged(ProfileData(locale="es-ES"), (), T0 + timedelta(seconds=2))
    with pytest.raises(Aborted):
        repo.save(stale, expected_version=1)
    got = repo.get("acme", "u-1")
    assert got.locale == "de-DE" and got.version == 2
    assert got.attributes["visits"] == 4 and isinstance(got.update_time, datetime)
    assert isinstance(got.attributes["birthday"], datetime)  # dates stay dates through a save


def test_save_at_version_zero_creates_once(repo):
    profile = Profile("acme", "u-9").merged(ProfileData(email="z@example.com"), (), T0)
    repo.save(profile, expected_version=0)
    with pytest.raises(Aborted):
        repo.save(profile, expected_version=0)


def test_save_many_updates_hundreds_of_existing_profiles_and_reports_conflicts(repo):
    profiles = [Profile("acme", f"b-{i:03d}").merged(ProfileData(attributes={"n": i}), (), T0) for i in range(150)]
    assert repo.save_many([(p, 0) for p in profiles]) == set()
    changed = [p.merged(ProfileData(attributes={"n": p.attributes["n"] + 1000}), (), T0) for p in profiles]
    repo.save(profiles[7].merged(ProfileData(locale="fr-FR"), (), T0), expected_version=1)  # someone else first
    assert repo.save_many([(p, 1) for p in changed]) == {"b-007"}
    stored = repo.get_many("acme", [p.external_id for p in profiles])
    assert len(stored) == 150
    assert stored["b-149"].attributes["n"] == 1149 and stored["b-007"].locale == "fr-FR"


def test_remove_and_list(repo):
    for i in (3, 1, 4, 0, 2):
        repo.add(Profile("acme", f"u-{i}").merged(ProfileData(), (), T0))
    repo.add(Profile("other", "u-0").merged(ProfileData(), (), T0))
    assert [p.external_id for p in repo.list("acme", "", 3)] == ["u-0", "u-1", "u-2"]
    assert [p.external_id for p in repo.list("acme", "u-2", 10)] == ["u-3", "u-4"]
    assert repo.remove("acme", "u-3") is True
    assert repo.remove("acme", "u-3") is False
    assert [p.external_id for p in repo.list("acme", "", 10)] == ["u-0", "u-1", "u-2", "u-4"]
    assert [p.external_id for p in repo.list("other", "", 10)] == ["u-0"]


@pytest.mark.parametrize("kind", ["nx", "ferretdb"])
def test_the_document_outbox_keeps_order_and_marks(request, kind):
    from svc_kit.events.mongo_outbox import MongoOutboxStore

    from svc_audience.adapters import events

    server = request.getfixturevalue(f"{kind}_server")
    client = MongoClient(server.url, tz_aware=True)
    database = client[f"outbox_{uuid.uuid4().hex[:10]}"]
    try:
        outbox = events.outbox(database)
        outbox.ensure_indexes()
        for i in range(5):
            outbox.write([events.erasure_entry(Profile("acme", f"u-{i}", version=1), T0)])
        store = MongoOutboxStore(outbox)
        first = store.unpublished(3)
        assert [p.key for p in first] == ["u-0", "u-1", "u-2"]
        decoded = events.SCHEMA.decode(first[0].value)
        assert decoded["event_type"] == "profile_erased" and decoded["payload"]["profile"] == \
            "workspaces/acme/profiles/u-0"
        store.mark_published([p.id for p in first])
        assert [p.key for p in store.unpublished(10)] == ["u-3", "u-4"]
    finally:
        client.drop_database(database.name)
        client.close()
