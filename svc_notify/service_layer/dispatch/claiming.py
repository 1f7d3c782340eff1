"""Claiming due work: one conditional UPDATE makes this pass the only sender
of up to `batch_size` due messages (SENDING under a lease), read together with
their workspaces' sending rules and enabled providers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from svc_notify.domain.model import Message
from svc_notify.domain.providers import Provider
from svc_notify.domain.settings import NotifySettings
from svc_notify.service_layer.dispatch.work import DispatchConfig
from svc_notify.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Claimed:
    messages: list[Message]
    rules: dict[str, NotifySettings]  # by workspace
    providers: dict[str, list[Provider]]  # the enabled ones, by workspace


class Claimer:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], config: DispatchConfig):
        self.uow = uow_factory
        self.config = config

    def claim(self, token: str, now: datetime) -> Claimed:
        with self.uow() as uow:
            claimed = uow.messages.claim_due(now, self.config.batch_size, token, now + self.config.lease)
            uow.commit()
            workspaces = {m.workspace for m in claimed}
            rules = {w: uow.settings.get(w) for w in workspaces}
            configured = {w: uow.providers.enabled(w) for w in workspaces}
        return Claimed(claimed, rules, configured)

    def next_due(self) -> datetime | None:
        with self.uow() as uow:
            return uow.messages.next_due_time()
