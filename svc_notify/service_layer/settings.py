"""Use cases of a workspace's sending rules: read, and update with an update
mask and etag (deferred messages are then planned again under the new rules)."""

from __future__ import annotations

import dataclasses

from svc_kit.errors import FieldViolation, InvalidArgument

from svc_notify.domain.settings import NotifySettings
from svc_notify.service_layer.ports import Clock
from svc_notify.service_layer.unit_of_work import UnitOfWork

SETTINGS_PATHS = frozenset({"quiet_hours", "frequency_caps", "default_time_zone"})


def get_settings(workspace: str, uow: UnitOfWork) -> NotifySettings:
    with uow:
        return uow.settings.get(workspace)


def update_settings(change: NotifySettings, paths: list[str], etag: str, uow: UnitOfWork,
                    clock: Clock) -> NotifySettings:
    wanted = set(SETTINGS_PATHS) if set(paths) == {"*"} else set(paths)
    unknown = sorted(wanted - SETTINGS_PATHS)
    if not wanted or unknown:
        raise InvalidArgument(FieldViolation("update_mask", f"name fields among {', '.join(sorted(SETTINGS_PATHS))}"
                                             + (f"; cannot change: {', '.join(unknown)}" if unknown else "")))
    problems = change.violations()
    if problems:
        raise InvalidArgument(problems)
    now = clock()
    with uow:
        current = uow.settings.get(change.workspace)
        current.check_etag(etag)
        updated = dataclasses.replace(current, **{p: getattr(change, p) for p in wanted}, update_time=now,
                                      version=current.version + 1)
        uow.settings.save(updated, current.version)
        # Deferred messages waiting on the old rules are planned again under the new ones.
        if uow.messages.replan_deferred(change.workspace, now):
            uow.queued = True
        uow.commit()
    return updated
