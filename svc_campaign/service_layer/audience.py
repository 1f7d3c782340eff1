"""Who a campaign reaches, read from the local copy of its target segments'
membership (eventually consistent with the audience service)."""

from __future__ import annotations

from dataclasses import dataclass

from svc_kit import pagination

from svc_campaign.service_layer.handlers import _load
from svc_campaign.service_layer.unit_of_work import CachedSegment, UnitOfWork


@dataclass(frozen=True)
class CampaignAudience:
    workspace: str
    campaign_id: str
    size: int
    segments: list[CachedSegment]


def _segment_ids(target_segments) -> list[str]:
    return [name.rsplit("/", 1)[-1] for name in target_segments]


def get_audience(workspace: str, campaign_id: str, uow: UnitOfWork) -> CampaignAudience:
    with uow:
        ids = _segment_ids(_load(uow, workspace, campaign_id).fields.target_segments)
        return CampaignAudience(workspace, campaign_id, uow.audiences.size(workspace, ids),
                                uow.audiences.segments(workspace, ids))


def list_members(workspace: str, campaign_id: str, page_size: int, page_token: str,
                 uow: UnitOfWork) -> tuple[list[str], str]:
    with uow:
        ids = _segment_ids(_load(uow, workspace, campaign_id).fields.target_segments)
        return pagination.keyset_page(lambda after, limit: uow.audiences.members(workspace, ids, after, limit),
                                      lambda p: p, page_size, page_token, workspace, campaign_id, "audience")
