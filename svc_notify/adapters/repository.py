"""The notify repository: the port, and its SQLAlchemy Core adapter (SQLite or
PostgreSQL). Every method takes the workspace except the dispatcher's claim,
which works across workspaces by design; no other query runs without one."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (Connection, and_, bindparam, case, delete, false, func, insert, literal, or_, select,
                        tuple_, update)
from sqlalchemy.dialects import postgresql, sqlite

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists

from svc_notify.adapters import codec
from svc_notify.adapters.tables import deliveries, inbox_items, messages, providers, settings
from svc_notify.domain.providers import Provider
from svc_notify.domain.settings import NotifySettings
from svc_notify.domain.pacing import PACING_REASONS
from svc_notify.domain.model import (BounceType, Category, Delivery, DeliveryState, InboxItem, InboxSummary,
                                     Message, State)

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}  # both have ON CONFLICT DO NOTHING
TIME_OPS = {"<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__", "=": "__eq__", "!=": "__ne__"}
RECLAIMED = ("the lease of a previous dispatcher expired before it recorded the outcome; sending again "
             "(at-least-once at the provider boundary)")


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


class NotifyRepository(abc.ABC):
    # -- messages --
    @abc.abstractmethod
    def add_messages(self, new: list[Message]) -> set[str]:
        """Stores the messages whose idempotency key is free in their workspace;
        returns the ids stored (a taken key stores nothing)."""

    @abc.abstractmethod
    def get_message(self, workspace: str, message_id: str) -> Message | None: ...

    @abc.abstractmethod
    def messages_by_keys(self, workspace: str, keys: Iterable[str]) -> dict[str, Message]: ...

    @abc.abstractmethod
    def list_messages(self, workspace: str, where: MessageFilter, before: str | None, limit: int) -> list[Message]:
        """Newest first (by id, which is time-ordered), strictly before the id `before`."""

    @abc.abstractmethod
    def save_message(self, message: Message, expected_version: int) -> None:
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
        due now (so the dispatcher plans them under new rules); returns how many."""

    @abc.abstractmethod
    def find_by_provider_message_id(self, workspace: str, provider_message_id: str) -> Message | None: ...

    @abc.abstractmethod
    def record_first(self, workspace: str, message_id: str, column: str, at: datetime) -> bool:
        """Sets first_open_time or first_click_time if unset (and bumps the version); True if it did."""

    # -- deliveries --
    @abc.abstractmethod
    def add_deliveries(self, items: list[Delivery]) -> None: ...

    @abc.abstractmethod
    def save_delivery(self, item: Delivery) -> None: ...

    @abc.abstractmethod
    def latest_delivery(self, workspace: str, message_id: str) -> Delivery | None: ...

    @abc.abstractmethod
    def list_deliveries(self, workspace: str, message_id: str | None, where: DeliveryFilter, before: str | None,
                        limit: int) -> list[Delivery]:
        """Newest first; every message of the workspace when `message_id` is None."""

    # -- providers --
    @abc.abstractmethod
    def add_provider(self, provider: Provider, request_id: str = "", fingerprint: str = "") -> None:
        """AlreadyExists if its id or request id is taken."""

    @abc.abstractmethod
    def get_provider(self, workspace: str, provider_id: str) -> Provider | None: ...

    @abc.abstractmethod
    def find_provider_by_request(self, workspace: str, request_id: str) -> tuple[Provider, str] | None: ...

    @abc.abstractmethod
    def list_providers(self, workspace: str, where: ProviderFilter, after: tuple[str, int, str] | None,
                       limit: int) -> list[Provider]:
        """In (channel, priority, id) order, strictly after the cursor."""

    @abc.abstractmethod
    def channel_providers(self, workspace: str) -> list[Provider]:
        """The workspace's enabled providers, by channel and priority."""

    @abc.abstractmethod
    def save_provider(self, provider: Provider, expected_version: int) -> None: ...

    @abc.abstractmethod
    def remove_provider(self, workspace: str, provider_id: str, expected_version: int | None) -> bool: ...

    # -- settings --
    @abc.abstractmethod
    def get_settings(self, workspace: str) -> NotifySettings:
        """The workspace's rules; the defaults (version 0) when never written."""

    @abc.abstractmethod
    def save_settings(self, rules: NotifySettings, expected_version: int) -> None: ...

    # -- inbox --
    @abc.abstractmethod
    def add_inbox_items(self, items: list[InboxItem]) -> None:
        """Stores the items; an item for a message that already has one is left out."""

    @abc.abstractmethod
    def list_inbox_items(self, workspace: str, inbox: str, where: InboxFilter, before: str | None, limit: int,
                         now: datetime) -> list[InboxItem]: ...

    @abc.abstractmethod
    def inbox_summary(self, workspace: str, inbox: str, now: datetime) -> InboxSummary: ...

    @abc.abstractmethod
    def mark_read(self, workspace: str, inbox: str, item_ids: list[str] | None, now: datetime) -> int: ...

    @abc.abstractmethod
    def delete_inbox_item(self, workspace: str, inbox: str, item_id: str) -> bool: ...


# -- the SQL adapter -----------------------------------------------------------------------------------

_m = messages.c
_d = deliveries.c
_p = providers.c
_i = inbox_items.c
_GET = select(messages).where(_m.workspace == bindparam("workspace"), _m.id == bindparam("id"))
_FINISH_COLUMNS = ("state", "state_reason", "due_time", "attempt_count", "provider", "provider_message_id",
                   "address", "template_version", "variant", "update_time", "sent_time", "deliver_time", "version")
_FINISH = (update(messages)
           .where(_m.workspace == bindparam("w_workspace"), _m.id == bindparam("w_id"),
                  _m.lease == bindparam("w_lease"), _m.state == State.SENDING.value)
           .values({**{c: bindparam(c) for c in _FINISH_COLUMNS}, "lease": None}))
_SAVE = (update(messages)
         .where(_m.workspace == bindparam("w_workspace"), _m.id == bindparam("w_id"),
                _m.version == bindparam("w_version"))
         .values({c: bindparam(c) for c in (*_FINISH_COLUMNS, "first_open_time", "first_click_time", "lease")}))
_WAITING_OR_SENDING = (State.QUEUED.value, State.DEFERRED.value, State.SENDING.value)


def _time_terms(column, comparisons: tuple[tuple[str, datetime], ...]) -> list:
    return [getattr(column, TIME_OPS[op])(at) for op, at in comparisons]


class SqlNotifyRepository(NotifyRepository):
    def __init__(self, connection: Connection):
        self.connection = connection
        self.dialect = connection.dialect.name

    # -- messages --------------------------------------------------------------------------------------

    def add_messages(self, new: list[Message]) -> set[str]:
        if not new:
            return set()
        statement = _INSERT[self.dialect](messages).on_conflict_do_nothing().returning(_m.id)
        rows = [self._message_row(m) for m in new]
        return set(self.connection.execute(statement, rows).scalars())

    def get_message(self, workspace: str, message_id: str) -> Message | None:
        row = self.connection.execute(_GET, {"workspace": workspace, "id": message_id}).first()
        return _message(row) if row else None

    def messages_by_keys(self, workspace: str, keys: Iterable[str]) -> dict[str, Message]:
        keys = list(set(keys))
        found: dict[str, Message] = {}
        for start in range(0, len(keys), 500):
            query = select(messages).where(_m.workspace == workspace, _m.idempotency_key.in_(keys[start:start + 500]))
            for row in self.connection.execute(query):
                found[row.idempotency_key] = _message(row)
        return found

    def list_messages(self, workspace: str, where: MessageFilter, before: str | None, limit: int) -> list[Message]:
        conditions = [_m.workspace == workspace]
        if where.states is not None:
            conditions.append(_m.state.in_([s.value for s in where.states]))
        if where.excluded_states:
            conditions.append(_m.state.not_in([s.value for s in where.excluded_states]))
        if where.channel is not None:
            conditions.append(_m.channel == where.channel.value)
        if where.campaign is not None:
            conditions.append(_m.campaign == where.campaign)
        if where.recipient is not None:
            conditions.append(_m.recipient == where.recipient)
        if where.idempotency_key is not None:
            conditions.append(_m.idempotency_key == where.idempotency_key)
        conditions += _time_terms(_m.create_time, where.create_time)
        if before:
            conditions.append(_m.id < before)
        query = select(messages).where(*conditions).order_by(_m.id.desc()).limit(limit)
        return [_message(r) for r in self.connection.execute(query)]

    def save_message(self, message: Message, expected_version: int) -> None:
        row = self._message_row(message)
        params = {c: row[c] for c in (*_FINISH_COLUMNS, "first_open_time", "first_click_time", "lease")}
        result = self.connection.execute(_SAVE, params | {"w_workspace": message.workspace, "w_id": message.id,
                                                          "w_version": expected_version})
        if result.rowcount != 1:
            raise Aborted(f"{message.name} was changed meanwhile; read it again and retry")

    def claim_due(self, now: datetime, limit: int, token: str, lease_until: datetime) -> list[Message]:
        due = (select(_m.workspace, _m.id)
               .where(_m.due_time <= now, _m.state.in_(_WAITING_OR_SENDING))
               .order_by(_m.due_time).limit(limit))
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        statement = (update(messages)
                     .where(tuple_(_m.workspace, _m.id).in_(due), _m.due_time <= now,
                            _m.state.in_(_WAITING_OR_SENDING))
                     .values(state=State.SENDING.value, lease=token, due_time=lease_until, update_time=now,
                             version=_m.version + 1,
                             state_reason=case((_m.state == State.SENDING.value, literal(RECLAIMED)),
                                               else_=literal("")))
                     .returning(*messages.c))
        return [_message(r) for r in self.connection.execute(statement)]

    def next_due_time(self) -> datetime | None:
        return self.connection.execute(
            select(func.min(_m.due_time)).where(_m.due_time.is_not(None))).scalar_one_or_none()

    def holding(self, workspace: str, message_ids: list[str], token: str) -> set[str]:
        held: set[str] = set()
        for start in range(0, len(message_ids), 500):
            query = select(_m.id).where(_m.workspace == workspace, _m.id.in_(message_ids[start:start + 500]),
                                        _m.lease == token, _m.state == State.SENDING.value)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            held.update(self.connection.execute(query).scalars())
        return held

    def finish(self, done: list[Message], token: str) -> int:
        if not done:
            return 0
        rows = []
        for message in done:
            row = self._message_row(message)
            rows.append({c: row[c] for c in _FINISH_COLUMNS} | {
                "w_workspace": message.workspace, "w_id": message.id, "w_lease": token})
        return self.connection.execute(_FINISH, rows).rowcount

    def sends_since(self, workspace: str, recipients: Iterable[str],
                    since: datetime) -> dict[str, list[tuple[datetime, Channel]]]:
        recipients = list(set(recipients))
        found: dict[str, list[tuple[datetime, Channel]]] = {}
        for start in range(0, len(recipients), 500):
            query = select(_m.recipient, _m.channel, _m.sent_time).where(
                _m.workspace == workspace, _m.recipient.in_(recipients[start:start + 500]), _m.sent_time >= since)
            for recipient, channel, sent in self.connection.execute(query):
                found.setdefault(recipient, []).append((sent, Channel(channel)))
        return found

    def replan_deferred(self, workspace: str, now: datetime) -> int:
        paced = or_(*(_m.state_reason.startswith(prefix) for prefix in PACING_REASONS))
        return self.connection.execute(
            update(messages).where(_m.workspace == workspace, _m.state == State.DEFERRED.value, _m.due_time > now,
                                   paced).values(due_time=now)).rowcount

    def find_by_provider_message_id(self, workspace: str, provider_message_id: str) -> Message | None:
        row = self.connection.execute(select(messages).where(
            _m.workspace == workspace, _m.provider_message_id == provider_message_id).limit(1)).first()
        return _message(row) if row else None

    def record_first(self, workspace: str, message_id: str, column: str, at: datetime) -> bool:
        if column not in ("first_open_time", "first_click_time"):
            raise ValueError(column)
        target = messages.c[column]
        result = self.connection.execute(
            update(messages).where(_m.workspace == workspace, _m.id == message_id, target.is_(None))
            .values({column: at, "version": _m.version + 1, "update_time": at}))
        return result.rowcount == 1

    @staticmethod
    def _message_row(m: Message) -> dict:
        return {
            "workspace": m.workspace, "id": m.id, "idempotency_key": m.idempotency_key,
            "channel": m.channel.value, "recipient": m.recipient, "category": m.category.value,
            "campaign": m.campaign, "template": codec.template_to_json(m.template),
            "content": codec.content_to_json(m.content), "send_time": m.send_time, "labels": dict(m.labels),
            "state": m.state.value, "state_reason": m.state_reason, "due_time": m.due_time,
            "lease": m.lease or None, "attempt_count": m.attempt_count, "provider": m.provider,
            "provider_message_id": m.provider_message_id, "address": m.address,
            "template_version": m.template_version, "variant": m.variant, "create_time": m.create_time,
            "update_time": m.update_time, "sent_time": m.sent_time, "deliver_time": m.deliver_time,
            "first_open_time": m.first_open_time, "first_click_time": m.first_click_time, "version": m.version,
        }

    # -- deliveries ------------------------------------------------------------------------------------

    def add_deliveries(self, items: list[Delivery]) -> None:
        if items:
            self.connection.execute(insert(deliveries), [_delivery_row(d) for d in items])

    def save_delivery(self, item: Delivery) -> None:
        row = _delivery_row(item)
        self.connection.execute(update(deliveries).where(_d.workspace == item.workspace, _d.id == item.id)
                                .values({k: v for k, v in row.items() if k not in ("workspace", "id")}))

    def latest_delivery(self, workspace: str, message_id: str) -> Delivery | None:
        row = self.connection.execute(select(deliveries).where(
            _d.workspace == workspace, _d.message_id == message_id).order_by(_d.id.desc()).limit(1)).first()
        return _delivery(row) if row else None

    def list_deliveries(self, workspace: str, message_id: str | None, where: DeliveryFilter, before: str | None,
                        limit: int) -> list[Delivery]:
        conditions = [_d.workspace == workspace]
        if message_id is not None:
            conditions.append(_d.message_id == message_id)
        if where.states is not None:
            conditions.append(_d.state.in_([s.value for s in where.states]))
        if where.provider is not None:
            conditions.append(_d.provider == where.provider)
        conditions += _time_terms(_d.start_time, where.start_time)
        if before:
            conditions.append(_d.id < before)
        query = select(deliveries).where(*conditions).order_by(_d.id.desc()).limit(limit)
        return [_delivery(r) for r in self.connection.execute(query)]

    # -- providers -------------------------------------------------------------------------------------

    def add_provider(self, provider: Provider, request_id: str = "", fingerprint: str = "") -> None:
        row = _provider_row(provider) | {"workspace": provider.workspace, "id": provider.id,
                                         "create_time": provider.create_time, "request_id": request_id or None,
                                         "request_fingerprint": fingerprint or None}
        statement = _INSERT[self.dialect](providers).values(row).on_conflict_do_nothing().returning(_p.id)
        if self.connection.execute(statement).first() is None:
            raise AlreadyExists(f"{provider.name} already exists")

    def get_provider(self, workspace: str, provider_id: str) -> Provider | None:
        row = self.connection.execute(select(providers).where(_p.workspace == workspace, _p.id == provider_id)).first()
        return _provider(row) if row else None

    def find_provider_by_request(self, workspace: str, request_id: str) -> tuple[Provider, str] | None:
        row = self.connection.execute(select(providers).where(_p.workspace == workspace,
                                                              _p.request_id == request_id)).first()
        return (_provider(row), row.request_fingerprint or "") if row else None

    def list_providers(self, workspace: str, where: ProviderFilter, after: tuple[str, int, str] | None,
                       limit: int) -> list[Provider]:
        conditions = [_p.workspace == workspace]
        if where.channel is not None:
            conditions.append(_p.channel == where.channel.value)
        if where.disabled is not None:
            conditions.append(_p.disabled == where.disabled)
        if after is not None:
            channel, priority, last = after
            conditions.append(or_(_p.channel > channel,
                                  and_(_p.channel == channel, _p.priority > priority),
                                  and_(_p.channel == channel, _p.priority == priority, _p.id > last)))
        query = select(providers).where(*conditions).order_by(_p.channel, _p.priority, _p.id).limit(limit)
        return [_provider(r) for r in self.connection.execute(query)]

    def channel_providers(self, workspace: str) -> list[Provider]:
        query = (select(providers).where(_p.workspace == workspace, _p.disabled == false())
                 .order_by(_p.channel, _p.priority, _p.id))
        return [_provider(r) for r in self.connection.execute(query)]

    def save_provider(self, provider: Provider, expected_version: int) -> None:
        result = self.connection.execute(
            update(providers).where(_p.workspace == provider.workspace, _p.id == provider.id,
                                    _p.version == expected_version).values(_provider_row(provider)))
        if result.rowcount != 1:
            raise Aborted(f"{provider.name} was changed meanwhile; read it again and retry")

    def remove_provider(self, workspace: str, provider_id: str, expected_version: int | None) -> bool:
        statement = delete(providers).where(_p.workspace == workspace, _p.id == provider_id)
        if expected_version is not None:
            statement = statement.where(_p.version == expected_version)
        return self.connection.execute(statement).rowcount == 1

    # -- settings --------------------------------------------------------------------------------------

    def get_settings(self, workspace: str) -> NotifySettings:
        row = self.connection.execute(select(settings).where(settings.c.workspace == workspace)).first()
        if row is None:
            return NotifySettings(workspace)
        return NotifySettings(workspace, codec.quiet_from_json(row.quiet_hours), codec.caps_from_json(row.frequency_caps),
                              row.default_time_zone, row.update_time, row.version)

    def save_settings(self, rules: NotifySettings, expected_version: int) -> None:
        values = {"quiet_hours": codec.quiet_to_json(rules.quiet_hours),
                  "frequency_caps": codec.caps_to_json(rules.frequency_caps),
                  "default_time_zone": rules.default_time_zone, "update_time": rules.update_time,
                  "version": rules.version}
        if expected_version == 0:
            statement = (_INSERT[self.dialect](settings).values({"workspace": rules.workspace, **values})
                         .on_conflict_do_nothing().returning(settings.c.workspace))
            written = self.connection.execute(statement).first() is not None
        else:
            written = self.connection.execute(
                update(settings).where(settings.c.workspace == rules.workspace,
                                       settings.c.version == expected_version).values(values)).rowcount == 1
        if not written:
            raise Aborted(f"{rules.name} were changed meanwhile; read them again and retry")

    # -- inbox -----------------------------------------------------------------------------------------

    def add_inbox_items(self, items: list[InboxItem]) -> None:
        if not items:
            return
        statement = _INSERT[self.dialect](inbox_items).on_conflict_do_nothing()
        self.connection.execute(statement, [{
            "workspace": i.workspace, "inbox": i.inbox, "id": i.id, "message_id": i.message_id,
            "content": codec.in_app_to_json(i.content), "campaign": i.campaign, "read": i.read,
            "create_time": i.create_time, "read_time": i.read_time, "expire_time": i.expire_time} for i in items])

    @staticmethod
    def _live(workspace: str, inbox: str, now: datetime) -> list:
        return [_i.workspace == workspace, _i.inbox == inbox,
                or_(_i.expire_time.is_(None), _i.expire_time > now)]

    def list_inbox_items(self, workspace: str, inbox: str, where: InboxFilter, before: str | None, limit: int,
                         now: datetime) -> list[InboxItem]:
        conditions = self._live(workspace, inbox, now)
        if where.read is not None:
            conditions.append(_i.read == where.read)
        if where.campaign is not None:
            conditions.append(_i.campaign == where.campaign)
        if before:
            conditions.append(_i.id < before)
        query = select(inbox_items).where(*conditions).order_by(_i.id.desc()).limit(limit)
        return [_inbox_item(r) for r in self.connection.execute(query)]

    def inbox_summary(self, workspace: str, inbox: str, now: datetime) -> InboxSummary:
        unread = func.sum(case((_i.read == false(), 1), else_=0))
        last = func.max(func.coalesce(_i.read_time, _i.create_time))
        total, unread_count, latest = self.connection.execute(
            select(func.count(), unread, last).where(*self._live(workspace, inbox, now))).one()
        return InboxSummary(workspace, inbox, int(unread_count or 0), int(total or 0), _aware(latest))

    def mark_read(self, workspace: str, inbox: str, item_ids: list[str] | None, now: datetime) -> int:
        statement = update(inbox_items).where(*self._live(workspace, inbox, now), _i.read == false())
        if item_ids is not None:
            statement = statement.where(_i.id.in_(item_ids))
        return self.connection.execute(statement.values(read=True, read_time=now)).rowcount

    def delete_inbox_item(self, workspace: str, inbox: str, item_id: str) -> bool:
        return self.connection.execute(delete(inbox_items).where(
            _i.workspace == workspace, _i.inbox == inbox, _i.id == item_id)).rowcount == 1


def _aware(value) -> datetime | None:
    """An aggregate over a UTCDateTime column comes back untyped (naive, or text on SQLite)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _message(r) -> Message:
    return Message(
        workspace=r.workspace, id=r.id, channel=Channel(r.channel), recipient=r.recipient,
        idempotency_key=r.idempotency_key, category=Category(r.category), campaign=r.campaign,
        template=codec.template_from_json(r.template), content=codec.content_from_json(r.content),
        send_time=r.send_time, labels=dict(r.labels or {}), state=State(r.state), state_reason=r.state_reason,
        due_time=r.due_time, attempt_count=r.attempt_count, provider=r.provider,
        provider_message_id=r.provider_message_id, address=r.address, template_version=r.template_version,
        variant=r.variant, create_time=r.create_time, update_time=r.update_time, sent_time=r.sent_time,
        deliver_time=r.deliver_time, first_open_time=r.first_open_time, first_click_time=r.first_click_time,
        version=r.version, lease=r.lease or "")


def _delivery_row(d: Delivery) -> dict:
    return {"workspace": d.workspace, "id": d.id, "message_id": d.message_id, "attempt": d.attempt,
            "provider": d.provider, "state": d.state.value, "address": d.address,
            "provider_message_id": d.provider_message_id, "provider_response": d.provider_response,
            "bounce_type": d.bounce_type.value if d.bounce_type else None, "start_time": d.start_time,
            "end_time": d.end_time, "report_time": d.report_time}


def _delivery(r) -> Delivery:
    return Delivery(r.workspace, r.message_id, r.id, r.attempt, r.provider, DeliveryState(r.state), r.address,
                    r.provider_message_id, r.provider_response, BounceType(r.bounce_type) if r.bounce_type else None,
                    r.start_time, r.end_time, r.report_time)


def _provider_row(p: Provider) -> dict:
    return {"display_name": p.display_name, "channel": p.channel.value, "kind": p.kind,
            "config": codec.config_to_json(p.config), "priority": p.priority,
            "rate_limit": codec.rate_to_json(p.rate_limit),
            "domain_rate_limits": codec.domain_limits_to_json(p.domain_rate_limits), "disabled": p.disabled,
            "update_time": p.update_time, "version": p.version}


def _provider(r) -> Provider:
    return Provider(r.workspace, r.id, r.display_name, Channel(r.channel), codec.config_from_json(r.kind, r.config),
                    r.priority, codec.rate_from_json(r.rate_limit), codec.domain_limits_from_json(r.domain_rate_limits),
                    r.disabled, r.create_time, r.update_time, r.version)


def _inbox_item(r) -> InboxItem:
    return InboxItem(r.workspace, r.inbox, r.id, r.message_id, codec.in_app_from_json(r.content), r.campaign, r.read,
                     r.create_time, r.read_time, r.expire_time)
