"""What the content service asks other services: profiles and segment
membership (audience), campaign names and references (campaign)."""

from __future__ import annotations

import abc

from svc_kit.errors import Unavailable


class AudienceDirectory(abc.ABC):
    @abc.abstractmethod
    async def profiles(self, workspace: str, profile_ids: list[str]) -> dict[str, dict | None]:
        """profile id -> its `profile` namespace (templating.renderer.profile_namespace), None when not found."""

    @abc.abstractmethod
    async def memberships(self, workspace: str, segment_ids: list[str], profile_ids: list[str]) -> dict[str, set[str]]:
        """profile id -> the ids among `segment_ids` of the segments it belongs to."""


class CampaignDirectory(abc.ABC):
    @abc.abstractmethod
    async def campaign(self, workspace: str, campaign_id: str) -> dict | None:
        """The `campaign` namespace ({"id", "name"}), None when not found."""

    @abc.abstractmethod
    async def referencing(self, workspace: str, template_name: str) -> list[str]:
        """Names of the scheduled, running or paused campaigns whose content is the template (or a version of it)."""


class NoAudience(AudienceDirectory):
    """For tools and tests that give every profile inline."""

    async def profiles(self, workspace, profile_ids):
        raise Unavailable("no audience service configured: give profiles inline (profile_data)")

    async def memberships(self, workspace, segment_ids, profile_ids):
        return {}


class NoCampaigns(CampaignDirectory):
    async def campaign(self, workspace, campaign_id):
        return {"id": campaign_id, "name": ""}

    async def referencing(self, workspace, template_name):
        return []
