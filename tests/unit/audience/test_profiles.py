"""Profile rules through the service layer, over the in-memory repository."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists, InvalidArgument, NotFound

from svc_audience.domain.model import Consent, ConsentStatus, DeviceToken, ProfileData
from svc_audience.service_layer import profiles as handlers
from tests.fakes_audience import FakeProfileRepository

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def repo():
    return FakeProfileRepository()


def upsert(repo, data, external_id="u-1", workspace="acme", remove=(), etag="", clock=None):
    return handlers.upsert_profile(workspace, external_id, data, remove, etag, repo, clock or Clock())


def test_upsert_creates_then_merges(repo):
    clock = Clock()
    profile, created = upsert(repo, ProfileData(email="Ann@Example.COM", attributes={"ltv": 10.5, "plan": "pro"},
                                                device_tokens=(DeviceToken("t1", "IOS"),)), clock=clock)
    assert created and profile.email == "ann@example.com" and profile.version == 1
    merged, created = upsert(repo, ProfileData(phone="+33612345678", attributes={"visits": 3},
                                               device_tokens=(DeviceToken("t2", "ANDROID"),),
                                               consents={Channel.SMS: Consent(ConsentStatus.GRANTED, T0)}),
                             remove=("plan",), clock=clock)
    assert not created and merged.version == 2
    assert merged.email == "ann@example.com" and merged.phone == "+33612345678"
    assert merged.attributes == {"ltv": 10.5, "visits": 3}
    assert [d.token for d in merged.device_tokens] == ["t1", "t2"]
    assert merged.consents[Channel.SMS].status is ConsentStatus.GRANTED
    assert merged.create_time == profile.create_time < merged.update_time


@pytest.mark.parametrize(("data", "field"), [
    (ProfileData(email="nope"), "profile.email"),
    (ProfileData(email="a@b"), "profile.email"),
    (ProfileData(phone="0612345678"), "profile.phone"),
    (ProfileData(time_zone="Mars/Olympus"), "profile.time_zone"),
    (ProfileData(locale="not a locale"), "profile.locale"),
    (ProfileData(attributes={"Bad-Key": 1}), "profile.attributes['Bad-Key']"),
    (ProfileData(attributes={"x": float("nan")}), "profile.attributes['x']"),
    (ProfileData(attributes={"x": "y" * 5000}), "profile.attributes['x']"),
])
def test_bad_input_names_the_field(repo, data, field):
    with pytest.raises(InvalidArgument) as error:
        upsert(repo, data)
    assert error.value.violations[0].field == field
    assert repo.get("acme", "u-1") is None


def test_an_attribute_keeps_its_type(repo):
    upsert(repo, ProfileData(attributes={"ltv": 10.5, "vip": True}))
    with pytest.raises(InvalidArgument, match="is a double attribute; got a string"):
        upsert(repo, ProfileData(attributes={"ltv": "high"}))
    with pytest.raises(InvalidArgument, match="is a bool attribute; got a int"):
        upsert(repo, ProfileData(attributes={"vip": 1}))
    assert upsert(repo, ProfileData(attributes={"ltv": 11.0}))[0].attributes["ltv"] == 11.0


def test_etags_guard_changes(repo):
    profile, _ = upsert(repo, ProfileData(email="a@example.com"))
    upsert(repo, ProfileData(locale="fr-FR"), etag=profile.etag)
    with pytest.raises(Aborted, match="stale"):
        upsert(repo, ProfileData(locale="de-DE"), etag=profile.etag)
    with pytest.raises(Aborted):
        upsert(repo, ProfileData(locale="de-DE"), external_id="ghost", etag="abc")


def test_upsert_without_etag_merges_with_a_concurrent_writer(repo):
    upsert(repo, ProfileData(attributes={"a": 1}))
    original_save, interfered = repo.save, []

    def save_after_interference(profile, expected_version):
        if not interfered:
            interfered.append(True)
            other = repo.get("acme", "u-1")
            original_save(other.merged(ProfileData(attributes={"b": 2}), (), T0 + timedelta(hours=1)),
                          other.version)
        original_save(profile, expected_version)

    repo.save = save_after_interference
    merged, _ = upsert(repo, ProfileData(attributes={"c": 3}))
    assert merged.attributes == {"a": 1, "b": 2, "c": 3}


def test_create_get_update_delete_and_workspaces(repo):
    clock = Clock()
    created = handlers.create_profile("acme", "u-1", ProfileData(email="a@example.com", locale="fr-FR"), repo, clock)
    with pytest.raises(AlreadyExists):
        handlers.create_profile("acme", "u-1", ProfileData(), repo, clock)
    with pytest.raises(InvalidArgument):
        handlers.create_profile("acme", "bad id/x", ProfileData(), repo, clock)
    assert handlers.create_profile("other", "u-1", ProfileData(), repo, clock).workspace == "other"
    updated = handlers.update_profile("acme", "u-1", ProfileData(locale=None, email="x@example.com"),
                                      frozenset({"locale"}), created.etag, repo, clock)
    assert updated.locale == "" and updated.email == "a@example.com"
    with pytest.raises(InvalidArgument, match="update_mask"):
        handlers.update_profile("acme", "u-1", ProfileData(), frozenset({"create_time"}), "", repo, clock)
    with pytest.raises(NotFound):
        handlers.get_profile("nowhere", "u-1", repo)
    erased = []
    handlers.delete_profile("acme", "u-1", "", repo, erased.append)
    assert [(p.workspace, p.external_id) for p in erased] == [("acme", "u-1")]
    with pytest.raises(NotFound):
        handlers.delete_profile("acme", "u-1", "", repo, erased.append)
    assert len(erased) == 1  # nothing recorded for a profile that is not there
    assert handlers.complete_erasure("other", "u-1", repo) is True
    assert handlers.complete_erasure("other", "u-1", repo) is False


def test_list_pages_in_id_order_and_refuses_foreign_tokens(repo):
    for i in (3, 1, 4, 0, 2):
        upsert(repo, ProfileData(), external_id=f"u-{i}")
    upsert(repo, ProfileData(), external_id="z", workspace="other")
    seen, token = [], ""
    while True:
        page = handlers.list_profiles("acme", 2, token, repo)
        seen += [p.external_id for p in page.profiles]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"u-{i}" for i in range(5)]
    first = handlers.list_profiles("acme", 2, "", repo)
    with pytest.raises(InvalidArgument):
        handlers.list_profiles("other", 2, first.next_page_token, repo)
