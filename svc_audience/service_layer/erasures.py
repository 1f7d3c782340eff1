"""Erasure requests (the right to erasure across services) and access requests (what every
service holds about a profile, as one document)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from svc_kit import pagination
from svc_kit.errors import NotFound

from svc_audience.domain.erasure import ErasureRequest, ServiceConfirmation


class ErasureRequests(Protocol):
    def create(self, request: ErasureRequest) -> None: ...
    def get(self, workspace: str, erasure_id: str) -> ErasureRequest | None: ...
    def list(self, workspace: str, before: str, limit: int) -> list[ErasureRequest]: ...
    def save(self, request: ErasureRequest) -> None: ...


def get_erasure_request(workspace: str, erasure_id: str, store: ErasureRequests) -> ErasureRequest:
    request = store.get(workspace, erasure_id)
    if request is None:
        raise NotFound(f"workspaces/{workspace}/erasureRequests/{erasure_id}")
    return request


def list_erasure_requests(workspace: str, page_size: int, page_token: str,
                          store: ErasureRequests) -> tuple[list[ErasureRequest], str]:
    return pagination.keyset_page(lambda before, limit: store.list(workspace, before, limit),
                                  lambda r: r.erasure_id, page_size, page_token, workspace, "erasureRequests")


def record_confirmation(workspace: str, erasure_id: str, service: str, counts: Mapping[str, int],
                        confirm_time: datetime, store: ErasureRequests) -> ErasureRequest | None:
    """A service's confirmation (idempotent); None when no such request is known here."""
    request = store.get(workspace, erasure_id)
    if request is None:
        return None
    updated = request.confirmed(ServiceConfirmation(service, confirm_time, dict(counts)))
    if updated is not request:
        store.save(updated)
    return updated


# -- access requests -----------------------------------------------------------------------------

# (workspace, profile) -> that service's records, as JSON
Section = Callable[[str, str], Awaitable[Mapping[str, Any]]]


async def export_profile_data(workspace: str, profile: str, sections: Sequence[tuple[str, Section]]
                              ) -> list[tuple[str, Mapping[str, Any]]]:
    """Every service's section, asked at once, in the order given; a service that fails fails
    the export (its Unavailable goes up), so an export is never silently partial."""
    import asyncio

    results = await asyncio.gather(*(section(workspace, profile) for _, section in sections))
    return [(service, result) for (service, _), result in zip(sections, results, strict=True)]
