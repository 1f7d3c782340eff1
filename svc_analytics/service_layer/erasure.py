"""Profile erasure (`profile_erased` from audience): the store is asked to
delete the profile's events and the request is recorded; `erasure_status`
reports completion once the store holds none of them (ClickHouse 18.16 deletes
asynchronously), noting the time it was first seen complete."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from svc_kit.errors import NotFound, Unavailable

from svc_analytics.domain.erasure import Erasure
from svc_analytics.service_layer.ports import EventStore
from svc_analytics.service_layer.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]


def erase_profile(workspace: str, profile: str, store: EventStore, uow: UnitOfWork, clock: Clock) -> Erasure:
    """Asks the store to delete the profile's events and records the request. Safe to repeat (a
    redelivered event asks again; the record keeps the latest request)."""
    erasure = Erasure(workspace, profile, clock())
    with uow:
        uow.erasures.put(erasure)
        uow.commit()
    store.erase_profile(workspace, profile)
    return erasure


def erasure_status(workspace: str, profile: str, store: EventStore, uow: UnitOfWork, clock: Clock) -> Erasure:
    """The recorded erasure, checked against the store; NotFound when none was requested."""
    with uow:
        erasure = uow.erasures.get(workspace, profile)
    if erasure is None:
        raise NotFound(f"workspaces/{workspace}/profiles/{profile}/erasure",
                       f"no erasure of profile {profile!r} was requested in workspace {workspace!r}")
    if erasure.complete:
        return erasure
    remaining = store.profile_event_count(workspace, profile)
    checked = dataclasses.replace(erasure, remaining_events=remaining,
                                  complete_time=clock() if remaining == 0 else None)
    with uow:
        uow.erasures.put(checked)
        uow.commit()
    return checked


def erase_for_confirmation(workspace: str, profile: str, store: EventStore, uow: UnitOfWork, clock: Clock,
                           settle: Callable[[], object] = lambda: None) -> dict[str, int]:
    """Erases the profile's events and returns the counts to confirm once the store holds none of
    them any more: `settle` waits for the store's deletions (ClickHouse mutations); should some
    events remain after it, Unavailable is raised and the event is retried later (erasing again is
    harmless), so a confirmation is never sent while events remain."""
    before = store.profile_event_count(workspace, profile)
    erase_profile(workspace, profile, store, uow, clock)
    settle()
    remaining = store.profile_event_count(workspace, profile)
    if remaining:
        raise Unavailable(f"{remaining} events of profile {profile!r} in workspace {workspace!r} are not "
                          "deleted yet; the erasure is retried")
    return {"events": before}
