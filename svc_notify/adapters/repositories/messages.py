"""Messages in SQL (SQLite or PostgreSQL), and the dispatcher's claim: one conditional
UPDATE, so two dispatchers never hold the same message."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, bindparam, case, delete, exists, func, literal, or_, select, tuple_, update

from svc_kit.channels import Channel
from svc_kit.errors import Aborted
from svc_kit.trace_context import current_trace_headers

from svc_notify.adapters import codec
from svc_notify.adapters.repositories.sql import SqlRepository, time_terms
from svc_notify.adapters.tables import campaign_holds, messages
from svc_notify.domain.model import Category, Message, State
from svc_notify.domain.pacing import PACING_REASONS
from svc_notify.service_layer.repositories import MessageFilter, MessageRepository

RECLAIMED = ("the lease of a previous dispatcher expired before it recorded the outcome; sending again "
             "(at-least-once at the provider boundary)")
_m = messages.c
_GET = select(messages).where(_m.workspace == bindparam("workspace"), _m.id == bindparam("id"))
_FINISH_COLUMNS = ("state", "state_reason", "due_time", "attempt_count", "provider", "provider_message_id",
                   "address", "template_version", "variant", "update_time", "sent_time", "deliver_time", "version",
                   "held_until")
_FINISH = (update(messages)
           .where(_m.workspace == bindparam("w_workspace"), _m.id == bindparam("w_id"),
                  _m.lease == bindparam("w_lease"), _m.state == State.SENDING.value)
           .values({**{c: bindparam(c) for c in _FINISH_COLUMNS}, "lease": None}))
_SAVE = (update(messages)
         .where(_m.workspace == bindparam("w_workspace"), _m.id == bindparam("w_id"),
                _m.version == bindparam("w_version"))
         .values({c: bindparam(c) for c in (*_FINISH_COLUMNS, "first_open_time", "first_click_time", "lease")}))
_WAITING_OR_SENDING = (State.QUEUED.value, State.DEFERRED.value, State.SENDING.value)
_WAITING = (State.QUEUED.value, State.DEFERRED.value)
_HANDED_OVER = (State.SENT.value, State.DELIVERED.value, State.BOUNCED.value)
_h = campaign_holds.c
_NOT_HELD = ~exists(select(literal(1)).where(_h.workspace == _m.workspace, _h.campaign == _m.campaign)
                    .correlate(messages))


class SqlMessageRepository(SqlRepository, MessageRepository):
    def add(self, new: list[Message]) -> set[str]:
        if not new:
            return set()
        statement = self.insert(messages).on_conflict_do_nothing().returning(_m.id)
        traceparent = current_trace_headers().get("traceparent")  # the accepting call's: delivery continues it
        rows = [{**self._message_row(m), "traceparent": m.trace_context or traceparent} for m in new]
        return set(self.connection.execute(statement, rows).scalars())

    def get(self, workspace: str, message_id: str) -> Message | None:
        row = self.connection.execute(_GET, {"workspace": workspace, "id": message_id}).first()
        return _message(row) if row else None

    def by_keys(self, workspace: str, keys: Iterable[str]) -> dict[str, Message]:
        keys = list(set(keys))
        found: dict[str, Message] = {}
        for start in range(0, len(keys), 500):
            query = select(messages).where(_m.workspace == workspace, _m.idempotency_key.in_(keys[start:start + 500]))
            for row in self.connection.execute(query):
                found[row.idempotency_key] = _message(row)
        return found

    def list(self, workspace: str, where: MessageFilter, before: str | None, limit: int) -> list[Message]:
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
        conditions += time_terms(_m.create_time, where.create_time)
        if before:
            conditions.append(_m.id < before)
        query = select(messages).where(*conditions).order_by(_m.id.desc()).limit(limit)
        return [_message(r) for r in self.connection.execute(query)]

    def save(self, message: Message, expected_version: int) -> None:
        row = self._message_row(message)
        params = {c: row[c] for c in (*_FINISH_COLUMNS, "first_open_time", "first_click_time", "lease")}
        result = self.connection.execute(_SAVE, params | {"w_workspace": message.workspace, "w_id": message.id,
                                                          "w_version": expected_version})
        if result.rowcount != 1:
            raise Aborted(f"{message.name} was changed meanwhile; read it again and retry")

    def claim_due(self, now: datetime, limit: int, token: str, lease_until: datetime) -> list[Message]:
        due = (select(_m.workspace, _m.id)
               .where(_m.due_time <= now, _m.state.in_(_WAITING_OR_SENDING), _NOT_HELD)
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
            select(func.min(_m.due_time)).where(_m.due_time.is_not(None), _NOT_HELD)).scalar_one_or_none()

    def cancel_campaign(self, workspace: str, campaign: str, now: datetime, reason: str,
                        wait_for_senders: bool = True) -> list[Message]:
        # One conditional UPDATE, like the claim: a message a dispatcher holds under a live lease is
        # not touched (it is being handed over), and one cancelled here is never claimed after.
        not_handed_over = or_(_m.state.in_(_WAITING), and_(_m.state == State.SENDING.value, _m.due_time <= now))
        if wait_for_senders and self.dialect == "postgresql":
            # Wait for dispatchers recording outcomes of this campaign's messages right now: a message one
            # of them defers is then seen DEFERRED (and cancelled), not SENDING under its old lease.
            self.connection.execute(select(_m.id).where(
                _m.workspace == workspace, _m.campaign == campaign, _m.state.in_(_WAITING_OR_SENDING))
                .order_by(_m.id).with_for_update())
        statement = (update(messages)
                     .where(_m.workspace == workspace, _m.campaign == campaign, not_handed_over)
                     .values(state=State.CANCELLED.value, state_reason=reason, due_time=None, lease=None,
                             update_time=now, version=_m.version + 1)
                     .returning(*messages.c))
        return [_message(r) for r in self.connection.execute(statement)]

    def campaign_counts(self, workspace: str, campaign: str, now: datetime) -> tuple[int, int, int]:
        kind = case((_m.state == State.CANCELLED.value, literal("cancelled")),
                    (_m.state.in_(_HANDED_OVER), literal("handed_over")),
                    (and_(_m.state == State.SENDING.value, _m.due_time > now), literal("sending")),
                    else_=literal("other"))
        counts = dict(self.connection.execute(select(kind, func.count()).where(
            _m.workspace == workspace, _m.campaign == campaign).group_by(kind)).all())
        return counts.get("cancelled", 0), counts.get("handed_over", 0), counts.get("sending", 0)

    def hold_campaign(self, workspace: str, campaign: str, now: datetime, cancelled: bool = False) -> None:
        statement = self.insert(campaign_holds).on_conflict_do_nothing()
        self.connection.execute(statement, {"workspace": workspace, "campaign": campaign, "cancelled": cancelled,
                                            "create_time": now})
        if cancelled:  # a pause's hold becomes the cancel's, dated by the cancel (what pruning counts from)
            self.connection.execute(update(campaign_holds).where(
                _h.workspace == workspace, _h.campaign == campaign, _h.cancelled.is_(False)).values(
                cancelled=True, create_time=now))

    def release_campaign(self, workspace: str, campaign: str, now: datetime) -> None:
        released = self.connection.execute(delete(campaign_holds).where(
            _h.workspace == workspace, _h.campaign == campaign, _h.cancelled.is_(False))).rowcount
        if released:  # the pause held the waiting messages on purpose until now
            self.connection.execute(update(messages).where(
                _m.workspace == workspace, _m.campaign == campaign, _m.state.in_(_WAITING)).values(held_until=now))

    def held_campaigns(self, campaigns: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        by_workspace: dict[str, list[str]] = {}
        for workspace, campaign in set(campaigns):
            by_workspace.setdefault(workspace, []).append(campaign)
        held: set[tuple[str, str]] = set()
        for workspace, names in sorted(by_workspace.items()):
            for start in range(0, len(names), 500):  # primary-key lookups, whatever the number of holds
                held.update((workspace, c) for c in self.connection.execute(select(_h.campaign).where(
                    _h.workspace == workspace, _h.campaign.in_(names[start:start + 500]))).scalars())
        return held

    def prune_campaign_holds(self, before: datetime, limit: int = 500) -> int:
        waiting = exists(select(literal(1)).where(_m.workspace == _h.workspace, _m.campaign == _h.campaign,
                                                  _m.state.in_(_WAITING_OR_SENDING)).correlate(campaign_holds))
        settled = (select(_h.workspace, _h.campaign)
                   .where(_h.cancelled.is_(True), _h.create_time < before, ~waiting)
                   .order_by(_h.create_time).limit(limit))
        pruned = 0
        for workspace, campaign in self.connection.execute(settled).all():
            pruned += self.connection.execute(delete(campaign_holds).where(  # the condition again: a late
                _h.workspace == workspace, _h.campaign == campaign, _h.cancelled.is_(True),  # page may have come
                _h.create_time < before, ~waiting)).rowcount
        return pruned

    def campaign_hold(self, workspace: str, campaign: str) -> str:
        cancelled = self.connection.execute(select(_h.cancelled).where(
            _h.workspace == workspace, _h.campaign == campaign)).scalar_one_or_none()
        return "" if cancelled is None else "CANCELLED" if cancelled else "HELD"

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
                                   paced).values(due_time=now, held_until=now)).rowcount

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
            "held_until": m.held_until,
        }


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
        version=r.version, lease=r.lease or "", trace_context=getattr(r, "traceparent", None) or "",
        held_until=getattr(r, "held_until", None))
