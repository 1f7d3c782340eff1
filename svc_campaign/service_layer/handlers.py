"""Use cases of the campaign service. Each runs in one unit of work."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from svc_kit import pagination
from svc_kit.errors import FieldViolation, InvalidArgument, NotFound
from svc_kit.idempotency import create_once, fingerprint
from svc_kit.names import format_name

from svc_campaign.domain import commands
from svc_campaign.domain.events import CampaignEvent
from svc_campaign.domain.model import Campaign
from svc_campaign.domain.queries import CampaignFilter
from svc_campaign.service_layer.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


@dataclass(frozen=True)
class Page:
    campaigns: list[Campaign]
    next_page_token: str
    total_size: int


def _name(workspace: str, campaign_id: str) -> str:
    return format_name(workspace, "campaigns", campaign_id)


def _load(uow: UnitOfWork, workspace: str, campaign_id: str) -> Campaign:
    campaign = uow.campaigns.get(workspace, campaign_id)
    if campaign is None:
        raise NotFound(_name(workspace, campaign_id))
    return campaign


def create_campaign(cmd: commands.CreateCampaign, uow: UnitOfWork, clock: Clock, new_id: IdFactory) -> Campaign:
    # campaign_id's and request_id's format: rules of campaign_service.proto (svc_kit.validation).
    return create_once(
        uow, cmd.request_id, fingerprint(cmd.campaign_id, dataclasses.asdict(cmd.data)),
        find=lambda: uow.campaigns.find_by_request_id(cmd.workspace, cmd.request_id),
        build=lambda: Campaign.create(cmd.workspace, cmd.campaign_id or new_id(), cmd.data, clock()),
        name=lambda campaign: _name(campaign.workspace, campaign.id),
        exists=lambda campaign: uow.campaigns.get(cmd.workspace, campaign.id) is not None,
        add=lambda campaign, request_id, fingerprint_: uow.campaigns.add(campaign, request_id, fingerprint_),
        validate_only=cmd.validate_only)


def get_campaign(workspace: str, campaign_id: str, uow: UnitOfWork, as_of: datetime | None = None) -> Campaign:
    """The campaign now, or as its history leaves it at `as_of`."""
    with uow:
        if as_of is None:
            return _load(uow, workspace, campaign_id)
        history = uow.campaigns.history(workspace, campaign_id, until=as_of)
    campaign = Campaign.replay(history)
    if campaign is None or campaign.deleted:
        name = _name(workspace, campaign_id)
        raise NotFound(name, f"{name} did not exist at {as_of.isoformat()}")
    return campaign


@dataclass(frozen=True)
class HistoryPage:
    entries: list[tuple[CampaignEvent, Campaign]]  # each event with the campaign as it left it
    next_page_token: str


def list_campaign_events(workspace: str, campaign_id: str, page_size: int, page_token: str,
                         uow: UnitOfWork) -> HistoryPage:
    size = pagination.page_size(page_size)
    query_key = pagination.fingerprint(workspace, campaign_id, "events")
    position = pagination.decode_token(page_token, query_key)
    after = 0
    if position is not None:
        if len(position) != 1 or not isinstance(position[0], int) or position[0] < 0:
            raise InvalidArgument(FieldViolation("page_token", "not a token this service issued"))
        after = position[0]
    with uow:
        history = uow.campaigns.history(workspace, campaign_id, limit=after + size + 1)
    if not history:
        raise NotFound(_name(workspace, campaign_id))
    campaign = Campaign.replay(history[:1])
    entries = [(history[0], copy.deepcopy(campaign))]
    for event in history[1:]:
        campaign.apply(event)
        entries.append((event, copy.deepcopy(campaign)))
    page = [(e, c) for e, c in entries if e.version > after][:size]
    more = len(history) > after + size
    token = pagination.encode_token([page[-1][0].version], query_key) if more and page else ""
    return HistoryPage(page, token)


def _query_key(workspace: str, where: CampaignFilter) -> str:
    """The same for the same query in every process: set order (and so repr) varies with the hash seed."""
    states = None if where.states is None else sorted(s.value for s in where.states)
    return pagination.fingerprint(workspace, states, sorted(s.value for s in where.excluded_states),
                                  sorted(where.labels_equal), sorted(where.labels_not_equal),
                                  sorted(where.labels_present))


def list_campaigns(query: commands.ListCampaigns, uow: UnitOfWork) -> Page:
    where = CampaignFilter.parse(query.filter)
    with uow:
        page, token = pagination.timed_keyset_page(
            lambda after, limit: uow.campaigns.list(query.workspace, where, after, limit),
            lambda c: (c.create_time, c.id), query.page_size, query.page_token, _query_key(query.workspace, where))
        total = uow.campaigns.count(query.workspace, where)
    return Page(page, token, total)


def _change(uow: UnitOfWork, workspace: str, campaign_id: str, etag: str,
            change: Callable[[Campaign], None]) -> Campaign:
    """Loads a campaign, checks the caller's etag, applies `change` and saves
    the campaign if its version moved."""
    with uow:
        campaign = _load(uow, workspace, campaign_id)
        campaign.check_etag(etag)
        expected = campaign.version
        change(campaign)
        if campaign.version != expected:
            uow.campaigns.save(campaign, expected)
            uow.commit()
        return campaign


def update_campaign(cmd: commands.UpdateCampaign, uow: UnitOfWork, clock: Clock) -> Campaign:
    return _change(uow, cmd.workspace, cmd.campaign_id, cmd.etag,
                   lambda campaign: campaign.update(cmd.data, set(cmd.paths), clock()))


def change_state(cmd: commands.ChangeState, uow: UnitOfWork, clock: Clock) -> Campaign:
    return _change(uow, cmd.workspace, cmd.campaign_id, cmd.etag,
                   lambda campaign: campaign.transition(cmd.action, clock()))


def delete_campaign(cmd: commands.DeleteCampaign, uow: UnitOfWork, clock: Clock) -> None:
    with uow:
        campaign = _load(uow, cmd.workspace, cmd.campaign_id)
        campaign.check_etag(cmd.etag)
        expected = campaign.version
        campaign.delete(clock())
        uow.campaigns.remove(campaign, expected)
        uow.commit()
