"""The repositories the use cases work with, one per aggregate (messages,
deliveries, providers, sending rules, inbox items), and the filters they take.
Every method takes the workspace except the dispatcher's claim and its next
due time, which work across workspaces by design. SQL implementations live in
svc_notify.adapters.repositories."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from svc_kit.channels import Channel

from svc_notify.domain.inbox import InboxItem, InboxSummary
from svc_notify.domain.model import Delivery, DeliveryState, Message, State
from svc_notify.domain.providers import Provider
from svc_notify.domain.settings import NotifySettings


@dataclass(frozen=True)
class MessageFilter:
    states: frozenset[State] | None = None
    excluded_states: frozenset[State] = frozenset()
    channel: Channel | None = None
    campaign: str | None = None
    recipient: str | None = None  # external id
    idempotency_key: str | None = None
    create_time: tuple[tuple[str, datetime], ...] = ()  # (operator, time)


@dataclass(frozen=True)
class DeliveryFilter:
    states: frozenset[DeliveryState] | None = None
    provider: str | None = None  # provider id
    start_time: tuple[tuple[str, datetime], ...] = ()


@dataclass(frozen=True)
class ProviderFilter:
    channel: Channel | None = None
    disabled: bool | None = None


@dataclass(frozen=True)
class InboxFilter:
    read: bool | None = None
    campaign: str | None = None


class MessageRepository(abc.ABC):
    """Messages, and the dispatcher's claim on them (the only query across workspaces)."""

    @abc.abstractmethod
    def add(self, new: list[Message]) -> set[str]:
        """Stores the messages whose idempotency key is free in their workspace;
        returns the ids stored (a taken key stores nothing)."""

    @abc.abstractmethod
    def get(self, workspace: str, message_id: str) -> Message | None: ...

    @abc.abstractmethod
    def by_keys(self, workspace: str, keys: Iterable[str]) -> dict[str, Message]: ...

    @abc.abstractmethod
    def list(self, workspace: str, where: MessageFilter, before: str | None, limit: int) -> list[Message]:
        """Newest first (by id, which is time-ordered), strictly before the id `before`."""

    @abc.abstractmethod
    def save(self, message: Message, expected_version: int) -> None:
        """Writes a changed message; Aborted if it changed since `expected_version`."""

    @abc.abstractmethod
    def claim_due(self, now: datetime, limit: int, token: str, lease_until: datetime) -> list[Message]:
        """Claims up to `limit` due messages (QUEUED or DEFERRED with due_time <= now,
        or SENDING with an expired lease) in one conditional UPDATE: they become
        SENDING under `token` until `lease_until`. Two dispatchers never claim the same row."""

    @abc.abstractmethod
    def next_due_time(self) -> datetime | None: ...

    @abc.abstractmethod
    def holding(self, workspace: str, message_ids: list[str], token: str) -> set[str]:
        """Those of the messages still claimed under `token` (locked until commit on PostgreSQL)."""

    @abc.abstractmethod
    def finish(self, done: list[Message], token: str) -> int:
        """Writes the outcome of claimed messages, only where `token` still holds
        the claim; returns how many rows were written."""

    @abc.abstractmethod
    def sends_since(self, workspace: str, recipients: Iterable[str],
                    since: datetime) -> dict[str, list[tuple[datetime, Channel]]]:
        """Per recipient, the send times (and channels) of messages sent at or after `since`."""

    @abc.abstractmethod
    def replan_deferred(self, workspace: str, now: datetime) -> int:
        """Makes the workspace's messages deferred by quiet hours or frequency caps
        due now (so the dispatcher plans them under new rules; held on purpose until
        `now`); returns how many."""

    @abc.abstractmethod
    def cancel_campaign(self, workspace: str, campaign: str, now: datetime, reason: str,
                        wait_for_senders: bool = True) -> list[Message]:
        """CANCELLED: the campaign's messages not handed over (QUEUED, DEFERRED, SENDING whose lease
        expired by `now`); returns them as they are now. With `wait_for_senders`, first waits for
        transactions recording outcomes of the campaign's messages."""

    @abc.abstractmethod
    def campaign_counts(self, workspace: str, campaign: str, now: datetime) -> tuple[int, int, int]:
        """The campaign's messages (cancelled, handed to a provider, held by a dispatcher under a live lease)."""

    @abc.abstractmethod
    def hold_campaign(self, workspace: str, campaign: str, now: datetime, cancelled: bool = False) -> None:
        """From now on the claim skips the campaign's messages (idempotent); for good when `cancelled`."""

    @abc.abstractmethod
    def release_campaign(self, workspace: str, campaign: str, now: datetime) -> None:
        """Ends a hold, unless the campaign was cancelled; the messages it held were held on purpose
        until `now` (Message.held_until)."""

    @abc.abstractmethod
    def held_campaigns(self, campaigns: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those of the (workspace, campaign) pairs that are held or cancelled (lookups by key: the cost
        follows the campaigns asked about, not the number of holds stored)."""

    @abc.abstractmethod
    def prune_campaign_holds(self, before: datetime, limit: int = 500) -> int:
        """Deletes up to `limit` cancelled holds dated before `before` (the cancel's time) whose campaign has
        no message waiting or being sent any more (settled); returns how many."""

    @abc.abstractmethod
    def campaign_hold(self, workspace: str, campaign: str) -> str:
        """"" (none), "HELD" or "CANCELLED"."""

    @abc.abstractmethod
    def find_by_provider_message_id(self, workspace: str, provider_message_id: str) -> Message | None: ...

    @abc.abstractmethod
    def record_first(self, workspace: str, message_id: str, column: str, at: datetime) -> bool:
        """Sets first_open_time or first_click_time if unset (and bumps the version); True if it did."""


class DeliveryRepository(abc.ABC):
    """Delivery attempts of messages."""

    @abc.abstractmethod
    def add(self, items: list[Delivery]) -> None: ...

    @abc.abstractmethod
    def save(self, item: Delivery) -> None: ...

    @abc.abstractmethod
    def latest(self, workspace: str, message_id: str) -> Delivery | None: ...

    @abc.abstractmethod
    def list(self, workspace: str, message_id: str | None, where: DeliveryFilter, before: str | None,
                        limit: int) -> list[Delivery]:
        """Newest first; every message of the workspace when `message_id` is None."""


class ProviderRepository(abc.ABC):
    """A workspace's providers."""

    @abc.abstractmethod
    def add(self, provider: Provider, request_id: str = "", fingerprint: str = "") -> None:
        """AlreadyExists if its id or request id is taken."""

    @abc.abstractmethod
    def get(self, workspace: str, provider_id: str) -> Provider | None: ...

    @abc.abstractmethod
    def find_by_request(self, workspace: str, request_id: str) -> tuple[Provider, str] | None: ...

    @abc.abstractmethod
    def list(self, workspace: str, where: ProviderFilter, after: tuple[str, int, str] | None,
                       limit: int) -> list[Provider]:
        """In (channel, priority, id) order, strictly after the cursor."""

    @abc.abstractmethod
    def enabled(self, workspace: str) -> list[Provider]:
        """The workspace's enabled providers, by channel and priority."""

    @abc.abstractmethod
    def save(self, provider: Provider, expected_version: int) -> None: ...

    @abc.abstractmethod
    def remove(self, workspace: str, provider_id: str, expected_version: int | None) -> bool: ...


class SettingsRepository(abc.ABC):
    """A workspace's sending rules."""

    @abc.abstractmethod
    def get(self, workspace: str) -> NotifySettings:
        """The workspace's rules; the defaults (version 0) when never written."""

    @abc.abstractmethod
    def save(self, rules: NotifySettings, expected_version: int) -> None: ...


class InboxRepository(abc.ABC):
    """In-app inbox items, by recipient."""

    @abc.abstractmethod
    def add(self, items: list[InboxItem]) -> None:
        """Stores the items; an item for a message that already has one is left out."""

    @abc.abstractmethod
    def list(self, workspace: str, inbox: str, where: InboxFilter, before: str | None, limit: int,
                         now: datetime) -> list[InboxItem]: ...

    @abc.abstractmethod
    def summary(self, workspace: str, inbox: str, now: datetime) -> InboxSummary: ...

    @abc.abstractmethod
    def mark_read(self, workspace: str, inbox: str, item_ids: list[str] | None, now: datetime) -> int: ...

    @abc.abstractmethod
    def delete(self, workspace: str, inbox: str, item_id: str) -> bool: ...
