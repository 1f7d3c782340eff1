"""Temporal queries and history through the service layer (fake unit of work)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from svc_kit.errors import InvalidArgument, NotFound

from svc_campaign.domain import commands
from svc_campaign.domain.model import CampaignFields
from svc_campaign.service_layer import handlers
from tests.fakes import NOW, FakeUnitOfWork, ready_fields
from tests.unit.campaign.test_handlers import Clock, Ids


@pytest.fixture
def world():
    uow, clock, ids = FakeUnitOfWork(), Clock(), Ids()
    campaign = handlers.create_campaign(commands.CreateCampaign("acme", ready_fields()), uow, clock, ids)
    return uow, clock, campaign


def update_description(uow, clock, campaign_id, text):
    return handlers.update_campaign(commands.UpdateCampaign(
        "acme", campaign_id, CampaignFields(display_name="x", description=text), frozenset({"description"})),
        uow, clock)


def test_as_of_returns_each_past_version(world):
    uow, clock, campaign = world
    versions = [campaign]
    for text in ("second", "third"):
        versions.append(update_description(uow, clock, campaign.id, text))
    for version in versions:
        old = handlers.get_campaign("acme", campaign.id, uow, as_of=version.update_time)
        assert old.fields == version.fields
        assert old.version == version.version
        assert old.etag == version.etag
    between = handlers.get_campaign("acme", campaign.id, uow, as_of=versions[1].update_time + timedelta(microseconds=1))
    assert between.fields.description == "second"


def test_as_of_before_creation_or_after_deletion_is_not_found(world):
    uow, clock, campaign = world
    with pytest.raises(NotFound, match="did not exist at"):
        handlers.get_campaign("acme", campaign.id, uow, as_of=NOW - timedelta(days=1))
    handlers.delete_campaign(commands.DeleteCampaign("acme", campaign.id), uow, clock)
    with pytest.raises(NotFound):
        handlers.get_campaign("acme", campaign.id, uow, as_of=clock.now + timedelta(seconds=5))
    assert handlers.get_campaign("acme", campaign.id, uow, as_of=campaign.update_time).id == campaign.id


def test_as_of_never_reaches_another_workspace(world):
    uow, _, campaign = world
    with pytest.raises(NotFound):
        handlers.get_campaign("other", campaign.id, uow, as_of=campaign.update_time)


def test_history_pages_carry_the_campaign_after_each_event(world):
    uow, clock, campaign = world
    for i in range(4):
        update_description(uow, clock, campaign.id, f"text {i}")
    handlers.change_state(commands.ChangeState("acme", campaign.id, "cancel"), uow, clock)
    seen, token = [], ""
    while True:
        page = handlers.list_campaign_events("acme", campaign.id, 2, token, uow)
        assert len(page.entries) <= 2
        seen += page.entries
        token = page.next_page_token
        if not token:
            break
    assert [e.version for e, _ in seen] == [1, 2, 3, 4, 5, 6]
    assert [e.type for e, _ in seen][-1] == "campaign_cancelled"
    for event, snapshot in seen:
        assert snapshot.version == event.version
        assert snapshot == handlers.get_campaign("acme", campaign.id, uow, as_of=event.occurred_at)
    assert seen[2][1].fields.description == "text 1"


def test_history_of_a_missing_campaign_and_bad_tokens(world):
    uow, _, campaign = world
    with pytest.raises(NotFound):
        handlers.list_campaign_events("other", campaign.id, 10, "", uow)
    with pytest.raises(InvalidArgument):
        handlers.list_campaign_events("acme", campaign.id, 10, "garbage", uow)
    other_token_source = handlers.list_campaigns(commands.ListCampaigns("acme", 1), uow)
    assert other_token_source.next_page_token == ""
