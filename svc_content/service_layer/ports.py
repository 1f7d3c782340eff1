"""What the content service needs from outside, one Protocol each: profiles and
segment membership (audience), campaign names and references (campaign), and
the store of asset bytes. Implementations are in svc_content.adapters, wired in
svc_content.bootstrap; unit tests give fakes."""

from __future__ import annotations

from typing import Protocol

from svc_kit.errors import Unavailable

__all__ = ["AudienceDirectory", "BlobStore", "CampaignDirectory", "Unavailable"]


class AudienceDirectory(Protocol):
    """Raises Unavailable when the audience service does not answer."""

    async def profiles(self, workspace: str, profile_ids: list[str]) -> dict[str, dict | None]:
        """profile id -> its `profile` namespace (templating.renderer.profile_namespace), None when not found."""

    async def memberships(self, workspace: str, segment_ids: list[str], profile_ids: list[str]) -> dict[str, set[str]]:
        """profile id -> the ids among `segment_ids` of the segments it belongs to."""


class CampaignDirectory(Protocol):
    async def campaign(self, workspace: str, campaign_id: str) -> dict | None:
        """The `campaign` namespace ({"id", "name"}), None when not found."""

    async def referencing(self, workspace: str, template_name: str) -> list[str]:
        """Names of the scheduled, running or paused campaigns whose content is the template (or a version of it)."""


class BlobStore(Protocol):
    """Content-addressed bytes: a blob's address is the SHA-256 of its bytes."""

    def put(self, data: bytes) -> str:
        """Stores `data` unless its address holds it already; the address."""

    def get(self, sha256: str) -> bytes | None: ...

    def exists(self, sha256: str) -> bool: ...
