"""One transaction around a use case, with a repository per aggregate. Events
recorded during it are written with the changes (to the outbox), so a change
and its events commit together or not at all. The SQL implementation lives in
svc_notify.adapters.sql_unit_of_work."""

from __future__ import annotations

from svc_notify.domain.events import NotifyEvent
from svc_notify.service_layer.repositories import (DeliveryRepository, InboxRepository, MessageRepository,
                                                   ProviderRepository, SettingsRepository)


class UnitOfWork:
    messages: MessageRepository
    deliveries: DeliveryRepository
    providers: ProviderRepository
    settings: SettingsRepository
    inbox: InboxRepository

    def __init__(self) -> None:
        self.events: list[NotifyEvent] = []
        self.queued = False  # messages became due: wake the dispatcher after commit

    def record(self, *events: NotifyEvent) -> None:
        self.events.extend(events)

    def __enter__(self) -> UnitOfWork:
        self.events, self.queued = [], False
        return self

    def __exit__(self, *exc) -> None:
        self.rollback()

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError
