"""Commands the service layer handles; the gRPC servicer builds them from requests."""

from __future__ import annotations

from dataclasses import dataclass

from svc_campaign.domain.model import CampaignFields


@dataclass(frozen=True)
class CreateCampaign:
    workspace: str
    data: CampaignFields
    campaign_id: str = ""
    request_id: str = ""
    validate_only: bool = False


@dataclass(frozen=True)
class UpdateCampaign:
    workspace: str
    campaign_id: str
    data: CampaignFields
    paths: frozenset[str]
    etag: str = ""


@dataclass(frozen=True)
class DeleteCampaign:
    workspace: str
    campaign_id: str
    etag: str = ""


@dataclass(frozen=True)
class ChangeState:
    workspace: str
    campaign_id: str
    action: str  # a key of model.TRANSITIONS
    etag: str = ""


@dataclass(frozen=True)
class ListCampaigns:
    workspace: str
    page_size: int = 0
    page_token: str = ""
    filter: str = ""
