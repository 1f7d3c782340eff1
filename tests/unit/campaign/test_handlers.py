"""The service layer over the fake unit of work: idempotency, pagination,
update masks, etags, delete rules and the outbox."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from svc_kit.errors import Aborted, AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

from svc_campaign.domain import commands
from svc_campaign.domain.queries import CampaignFilter
from svc_campaign.domain.values import State
from svc_campaign.service_layer import handlers
from tests.fakes import NOW, FakeDatabase, FakeUnitOfWork, ready_fields


class Clock:
    """Moves one second forward on every reading."""

    def __init__(self):
        self.now = NOW

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


class Ids:
    def __init__(self):
        self.issued = 0

    def __call__(self) -> str:
        self.issued += 1
        return f"gen{self.issued:03d}"


class InterferingUnitOfWork(FakeUnitOfWork):
    """Runs `interference` (another request) right after this unit of work's first call of `method`."""

    def __init__(self, database: FakeDatabase, method: str, interference):
        super().__init__(database)
        self.method, self.interference = method, interference

    def __enter__(self):
        super().__enter__()
        if self.interference is not None:
            interference, self.interference = self.interference, None
            original = getattr(self.campaigns, self.method)

            def interfered(*args):
                result = original(*args)
                interference()
                return result

            setattr(self.campaigns, self.method, interfered)
        return self


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ids() -> Ids:
    return Ids()


def create(uow, clock, ids, workspace="acme", campaign_id="", request_id="", validate_only=False, **changes):
    cmd = commands.CreateCampaign(workspace, ready_fields(workspace, **changes), campaign_id, request_id,
                                  validate_only)
    return handlers.create_campaign(cmd, uow, clock, ids)


def stored(uow: FakeUnitOfWork):
    return {key: row.campaign for key, row in uow.database.campaigns.items()}


def outbox(uow: FakeUnitOfWork):
    return [(e.type, e.workspace, e.campaign_id, e.version) for e in uow.database.outbox]


def history(uow: FakeUnitOfWork, campaign_id="spring", workspace="acme"):
    """The committed event stream of one campaign."""
    return [(e.type, e.workspace, e.campaign_id, e.version) for e in uow.database.events
            if (e.workspace, e.campaign_id) == (workspace, campaign_id)]


# -- create ---------------------------------------------------------------------------------------------


def test_create_stores_the_campaign_and_its_event(uow, clock, ids):
    campaign = create(uow, clock, ids, campaign_id="spring")

    assert campaign.id == "spring" and campaign.state is State.DRAFT
    assert stored(uow) == {("acme", "spring"): campaign}
    assert outbox(uow) == [("campaign_created", "acme", "spring", 1)]
    assert campaign.events == []  # moved to the outbox
    assert ids.issued == 0


def test_create_without_id_takes_a_new_one(uow, clock, ids):
    assert create(uow, clock, ids).id == "gen001"
    assert create(uow, clock, ids).id == "gen002"
    assert len(stored(uow)) == 2


def test_create_refuses_invalid_fields(uow, clock, ids):
    with pytest.raises(InvalidArgument):
        create(uow, clock, ids, display_name="")
    assert stored(uow) == {} and outbox(uow) == []


def test_create_is_idempotent_by_request_id(uow, clock, ids):
    first = create(uow, clock, ids, request_id="req-1")
    again = create(uow, clock, ids, request_id="req-1")

    assert again == first and again.id == "gen001"
    assert len(stored(uow)) == 1
    assert outbox(uow) == [("campaign_created", "acme", "gen001", 1)]


def test_request_id_reused_for_another_payload_is_refused(uow, clock, ids):
    create(uow, clock, ids, request_id="req-1")
    for changed in [dict(display_name="Other"), dict(campaign_id="explicit")]:
        with pytest.raises(InvalidArgument) as caught:
            create(uow, clock, ids, request_id="req-1", **changed)
        (violation,) = caught.value.violations
        assert violation.field == "request_id"
        assert "workspaces/acme/campaigns/gen001" in violation.description
    assert len(stored(uow)) == 1


def test_request_ids_belong_to_a_workspace(uow, clock, ids):
    a = create(uow, clock, ids, request_id="req-1")
    b = create(uow, clock, ids, workspace="globex", request_id="req-1")
    assert (a.workspace, b.workspace) == ("acme", "globex") and a.id != b.id
    assert len(stored(uow)) == 2


def test_concurrent_create_with_the_same_request_id_answers_like_the_winner(clock, ids):
    database = FakeDatabase()
    cmd = commands.CreateCampaign("acme", ready_fields(), request_id="req-1")
    winner = []
    racing = InterferingUnitOfWork(database, "find_by_request_id",
                                   lambda: winner.append(handlers.create_campaign(cmd, FakeUnitOfWork(database),
                                                                                  clock, ids)))

    campaign = handlers.create_campaign(cmd, racing, clock, ids)

    assert campaign == winner[0]
    assert list(database.campaigns) == [("acme", winner[0].id)]
    assert [e.type for e in database.outbox] == ["campaign_created"]


def test_concurrent_create_with_the_same_request_id_and_another_payload_is_refused(clock, ids):
    database = FakeDatabase()
    theirs = commands.CreateCampaign("acme", ready_fields(display_name="Theirs"), request_id="req-1")
    racing = InterferingUnitOfWork(database, "find_by_request_id",
                                   lambda: handlers.create_campaign(theirs, FakeUnitOfWork(database), clock, ids))
    ours = commands.CreateCampaign("acme", ready_fields(display_name="Ours"), request_id="req-1")

    with pytest.raises(InvalidArgument) as caught:
        handlers.create_campaign(ours, racing, clock, ids)
    assert caught.value.violations[0].field == "request_id"
    assert [row.campaign.fields.display_name for row in database.campaigns.values()] == ["Theirs"]


def test_validate_only_stores_nothing(uow, clock, ids):
    campaign = create(uow, clock, ids, campaign_id="spring", request_id="req-1", validate_only=True)

    assert campaign.id == "spring" and campaign.fields == ready_fields()
    assert stored(uow) == {} and outbox(uow) == [] and uow.commits == 0
    # The request id was not used up either.
    assert create(uow, clock, ids, campaign_id="spring", request_id="req-1").id == "spring"


def test_validate_only_still_validates(uow, clock, ids):
    with pytest.raises(InvalidArgument) as caught:
        create(uow, clock, ids, validate_only=True, display_name="")
    assert caught.value.violations[0].field == "campaign.display_name"
    assert stored(uow) == {}


def test_duplicate_campaign_id_already_exists(uow, clock, ids):
    first = create(uow, clock, ids, campaign_id="spring")
    with pytest.raises(AlreadyExists, match="workspaces/acme/campaigns/spring already exists"):
        create(uow, clock, ids, campaign_id="spring", display_name="Other")
    assert stored(uow) == {("acme", "spring"): first}
    assert len(outbox(uow)) == 1
    assert create(uow, clock, ids, workspace="globex", campaign_id="spring").workspace == "globex"


# -- get ------------------------------------------------------------------------------------------------


def test_get(uow, clock, ids):
    campaign = create(uow, clock, ids, campaign_id="spring")
    assert handlers.get_campaign("acme", "spring", uow) == campaign


def test_get_in_another_workspace_is_not_found(uow, clock, ids):
    create(uow, clock, ids, campaign_id="spring")
    with pytest.raises(NotFound) as caught:
        handlers.get_campaign("globex", "spring", uow)
    assert caught.value.resource_name == "workspaces/globex/campaigns/spring"


# -- list -----------------------------------------------------------------------------------------------


@pytest.fixture
def listed(uow, clock, ids):
    """acme: c1..c7, team=growth on all but c3 and c6; globex: two growth campaigns."""
    for i in range(1, 8):
        create(uow, clock, ids, campaign_id=f"c{i}", labels={"team": "brand" if i in (3, 6) else "growth"})
    for i in range(1, 3):
        create(uow, clock, ids, workspace="globex", campaign_id=f"g{i}")
    return uow


def list_page(uow, page_token="", page_size=2, filter="labels.team = growth", workspace="acme"):
    return handlers.list_campaigns(commands.ListCampaigns(workspace, page_size, page_token, filter), uow)


def test_list_pages_through_a_filter(listed):
    pages, token = [], ""
    while True:
        page = list_page(listed, token)
        pages.append([c.id for c in page.campaigns])
        assert page.total_size == 5
        token = page.next_page_token
        if not token:
            break
        assert len(pages) < 10, "pagination does not end"

    assert pages == [["c1", "c2"], ["c4", "c5"], ["c7"]]


def test_list_without_filter_or_size(listed):
    page = list_page(listed, page_size=0, filter="")
    assert [c.id for c in page.campaigns] == [f"c{i}" for i in range(1, 8)]
    assert (page.next_page_token, page.total_size) == ("", 7)


def test_list_last_page_exactly_full_has_no_token(listed):
    page = list_page(listed, page_size=7, filter="")
    assert len(page.campaigns) == 7 and page.next_page_token == ""


def test_page_token_refuses_a_changed_filter_or_workspace(listed):
    token = list_page(listed).next_page_token
    for changed in [dict(filter="labels.team = brand"), dict(filter=""), dict(workspace="globex")]:
        with pytest.raises(InvalidArgument) as caught:
            list_page(listed, token, **changed)
        assert caught.value.violations[0].field == "page_token"
    # The page size may change between pages.
    assert [c.id for c in list_page(listed, token, page_size=10).campaigns] == ["c4", "c5", "c7"]


def test_equivalent_filter_text_keeps_the_token_valid(listed):
    token = list_page(listed, filter="labels.team = growth").next_page_token
    page = list_page(listed, token, filter='labels.team="growth"')
    assert [c.id for c in page.campaigns] == ["c4", "c5"]


def _forge(token: str, position) -> str:
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    data["p"] = position
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize("position", [[], ["not a time", "c1"], [12, "c1"]])
def test_page_token_with_a_bad_position_is_refused(listed, position):
    token = _forge(list_page(listed).next_page_token, position)
    with pytest.raises(InvalidArgument) as caught:
        list_page(listed, token)
    assert caught.value.violations[0].field == "page_token"


@pytest.mark.parametrize(("kwargs", "field"), [
    (dict(page_token="garbage!"), "page_token"),
    (dict(filter="name = x"), "filter"),
])
def test_list_refuses_bad_requests(listed, kwargs, field):
    with pytest.raises(InvalidArgument) as caught:
        list_page(listed, **kwargs)
    assert caught.value.violations[0].field == field


def test_page_tokens_do_not_depend_on_set_order(listed, monkeypatch):
    """Set order follows the hash seed, which differs between processes (replicas, restarts): a token
    issued by one must hold in another. Two hash functions for State stand in for two seeds."""
    text = "state != RUNNING AND state != PAUSED AND state != CANCELLED AND state != COMPLETED"
    reprs, tokens = set(), set()
    for ranks in (list(State), list(reversed(State))):
        monkeypatch.setattr(State, "__hash__", lambda self, ranks=ranks: ranks.index(self))
        reprs.add(repr(CampaignFilter.parse(text)))
        page = list_page(listed, filter=text)
        assert [c.id for c in page.campaigns] == ["c1", "c2"]
        tokens.add(page.next_page_token)
    assert len(reprs) == 2, "the two hash functions should order the excluded states differently"
    assert len(tokens) == 1


# -- update ---------------------------------------------------------------------------------------------


def update(uow, clock, data, paths, campaign_id="spring", etag="", workspace="acme"):
    cmd = commands.UpdateCampaign(workspace, campaign_id, data, frozenset(paths), etag)
    return handlers.update_campaign(cmd, uow, clock)


def test_update_changes_only_the_masked_fields(uow, clock, ids):
    created = create(uow, clock, ids, campaign_id="spring")
    incoming = ready_fields(display_name="Summer sale", description="not in the mask", labels={})

    updated = update(uow, clock, incoming, {"display_name"}, etag=created.etag)

    assert updated.fields == replace(created.fields, display_name="Summer sale")
    assert updated.version == 2 and updated.etag != created.etag and updated.update_time > created.update_time
    assert stored(uow)[("acme", "spring")] == updated
    assert outbox(uow)[-1] == ("campaign_updated", "acme", "spring", 2)
    assert uow.database.outbox[-1].data == {"paths": ["display_name"], "fields": updated.fields}
    assert uow.database.events == uow.database.outbox  # the stream and the outbox get the same events


def test_update_that_changes_nothing_writes_nothing(uow, clock, ids):
    created = create(uow, clock, ids, campaign_id="spring")
    commits = uow.commits
    updated = update(uow, clock, ready_fields(), {"display_name", "labels"})
    assert updated == created and uow.commits == commits and len(outbox(uow)) == 1


def test_update_with_a_stale_etag_is_aborted(uow, clock, ids):
    created = create(uow, clock, ids, campaign_id="spring")
    update(uow, clock, ready_fields(display_name="First"), {"display_name"}, etag=created.etag)

    with pytest.raises(Aborted):
        update(uow, clock, ready_fields(display_name="Second"), {"display_name"}, etag=created.etag)

    assert stored(uow)[("acme", "spring")].fields.display_name == "First"
    assert [e[0] for e in outbox(uow)] == ["campaign_created", "campaign_updated"]


def test_update_racing_another_request_is_aborted(clock, ids):
    database = FakeDatabase()
    create(FakeUnitOfWork(database), clock, ids, campaign_id="spring")
    other = lambda: update(FakeUnitOfWork(database), clock, ready_fields(display_name="Theirs"),  # noqa: E731
                           {"display_name"})
    racing = InterferingUnitOfWork(database, "get", other)

    with pytest.raises(Aborted, match="was changed by another request"):
        update(racing, clock, ready_fields(display_name="Ours"), {"display_name"})
    assert database.campaigns[("acme", "spring")].campaign.fields.display_name == "Theirs"


def test_update_of_a_missing_campaign_is_not_found(uow, clock, ids):
    create(uow, clock, ids, campaign_id="spring")
    with pytest.raises(NotFound):
        update(uow, clock, ready_fields(), {"display_name"}, workspace="globex")


def test_refused_update_writes_nothing(uow, clock, ids):
    create(uow, clock, ids, campaign_id="spring")
    with pytest.raises(InvalidArgument):
        update(uow, clock, ready_fields(display_name=""), {"display_name"})
    assert stored(uow)[("acme", "spring")].version == 1
    assert len(outbox(uow)) == 1


# -- state changes and delete ---------------------------------------------------------------------------


def change(uow, clock, action, etag="", campaign_id="spring"):
    return handlers.change_state(commands.ChangeState("acme", campaign_id, action, etag), uow, clock)


def delete(uow, clock, etag="", campaign_id="spring", workspace="acme"):
    handlers.delete_campaign(commands.DeleteCampaign(workspace, campaign_id, etag), uow, clock)


def test_change_state(uow, clock, ids):
    created = create(uow, clock, ids, campaign_id="spring")
    scheduled = change(uow, clock, "schedule", etag=created.etag)
    assert stored(uow)[("acme", "spring")].state is State.SCHEDULED == scheduled.state
    assert outbox(uow)[-1] == ("campaign_scheduled", "acme", "spring", 2)
    with pytest.raises(Aborted):
        change(uow, clock, "start", etag=created.etag)
    with pytest.raises(FailedPrecondition):
        change(uow, clock, "resume")
    assert stored(uow)[("acme", "spring")].state is State.SCHEDULED and len(outbox(uow)) == 2


def test_delete_a_draft(uow, clock, ids):
    created = create(uow, clock, ids, campaign_id="spring")
    delete(uow, clock, etag=created.etag)
    assert stored(uow) == {}
    assert outbox(uow)[-1] == ("campaign_deleted", "acme", "spring", 2)
    assert uow.database.outbox[-1].data == {"last_state": "DRAFT"}
    # The campaign leaves the current view; its history stays, ending in the deletion.
    assert history(uow) == [("campaign_created", "acme", "spring", 1), ("campaign_deleted", "acme", "spring", 2)]
    with pytest.raises(NotFound):
        handlers.get_campaign("acme", "spring", uow)


@pytest.mark.parametrize("actions", [["cancel"], ["schedule", "start", "complete"]])
def test_delete_a_finished_campaign(uow, clock, ids, actions):
    create(uow, clock, ids, campaign_id="spring")
    for action in actions:
        change(uow, clock, action)
    delete(uow, clock)
    assert stored(uow) == {}
    assert outbox(uow)[-1] == ("campaign_deleted", "acme", "spring", len(actions) + 2)
    assert uow.database.outbox[-1].data == {"last_state": "CANCELLED" if actions == ["cancel"] else "COMPLETED"}


@pytest.mark.parametrize("actions", [["schedule"], ["schedule", "start"], ["schedule", "start", "pause"]])
def test_delete_of_a_live_campaign_is_refused(uow, clock, ids, actions):
    create(uow, clock, ids, campaign_id="spring")
    for action in actions:
        change(uow, clock, action)
    events = len(outbox(uow))
    with pytest.raises(FailedPrecondition, match="cancel it first"):
        delete(uow, clock)
    assert ("acme", "spring") in stored(uow) and len(outbox(uow)) == events


def test_delete_checks_etag_and_workspace(uow, clock, ids):
    created = create(uow, clock, ids, campaign_id="spring")
    change(uow, clock, "cancel")
    with pytest.raises(Aborted):
        delete(uow, clock, etag=created.etag)
    with pytest.raises(NotFound):
        delete(uow, clock, workspace="globex")
    assert ("acme", "spring") in stored(uow)


# -- the outbox -----------------------------------------------------------------------------------------


def test_events_reach_the_outbox_only_on_commit(clock):
    from svc_campaign.domain.model import Campaign

    database = FakeDatabase()
    with FakeUnitOfWork(database) as uow:
        uow.campaigns.add(Campaign.create("acme", "a", ready_fields(), NOW))
    assert database.outbox == [] and database.campaigns == {}

    with FakeUnitOfWork(database) as uow:
        campaign = Campaign.create("acme", "b", ready_fields(), NOW)
        uow.campaigns.add(campaign)
        uow.commit()
    assert [(e.type, e.campaign_id) for e in database.outbox] == [("campaign_created", "b")]
    assert uow.committed_events == database.outbox and campaign.events == []
