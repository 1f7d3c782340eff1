"""Webhooks and their deliveries in SQLite or PostgreSQL (SQLAlchemy Core). Every query is scoped
by workspace except the worker's claim of due deliveries, which spans workspaces by design. Secrets
are sealed by the secret box before they are written and opened when read."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from svc_integrations.adapters.tables import webhook_deliveries as d
from svc_integrations.adapters.tables import webhooks as w
from svc_integrations.domain.webhooks import ACTIVE, FAILED, FAILING, PAUSED, PENDING, Delivery, Webhook

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class SecretBox(Protocol):
    def seal(self, plain: str) -> str: ...
    def open(self, sealed: str) -> str: ...


def _webhook(row, box: SecretBox) -> Webhook:
    return Webhook(
        workspace=row.workspace, id=row.id, display_name=row.display_name, uri=row.uri,
        event_types=tuple(row.event_types), headers=dict(row.headers), labels=dict(row.labels), state=row.state,
        state_message=row.state_message, consecutive_failures=row.consecutive_failures,
        last_success_time=row.last_success_time, create_time=row.create_time, update_time=row.update_time,
        version=row.version, secret=box.open(row.secret_ciphertext),
        previous_secret=box.open(row.previous_secret_ciphertext),
        previous_secret_expire_time=row.previous_secret_expire_time, request_id=row.request_id)


def _webhook_values(hook: Webhook, box: SecretBox) -> dict:
    return dict(
        workspace=hook.workspace, id=hook.id, display_name=hook.display_name, uri=hook.uri,
        event_types=list(hook.event_types), headers=dict(hook.headers), labels=dict(hook.labels), state=hook.state,
        state_message=hook.state_message[:1024], consecutive_failures=hook.consecutive_failures,
        last_success_time=hook.last_success_time, secret_ciphertext=box.seal(hook.secret),
        previous_secret_ciphertext=box.seal(hook.previous_secret),
        previous_secret_expire_time=hook.previous_secret_expire_time, request_id=hook.request_id,
        version=hook.version, create_time=hook.create_time, update_time=hook.update_time)


def _delivery(row) -> Delivery:
    return Delivery(
        workspace=row.workspace, webhook_id=row.webhook_id, id=row.id, event_id=row.event_id,
        event_type=row.event_type, body=bytes(row.body), state=row.state, attempt_count=row.attempt_count,
        failures=row.failures, response_code=row.response_code, error=row.error, latency_ms=row.latency_ms,
        create_time=row.create_time, last_attempt_time=row.last_attempt_time,
        next_attempt_time=row.next_attempt_time)


def _delivery_values(delivery: Delivery) -> dict:
    return dict(
        workspace=delivery.workspace, webhook_id=delivery.webhook_id, id=delivery.id, event_id=delivery.event_id,
        event_type=delivery.event_type, body=delivery.body, state=delivery.state,
        attempt_count=delivery.attempt_count, failures=delivery.failures, response_code=delivery.response_code,
        error=delivery.error[:1024], latency_ms=delivery.latency_ms, create_time=delivery.create_time,
        last_attempt_time=delivery.last_attempt_time, next_attempt_time=delivery.next_attempt_time)


def subscribed_webhooks(connection: Connection, workspace: str) -> list[tuple[str, tuple[str, ...], str]]:
    """(id, event_types, state) of the workspace's webhooks, for the event consumer."""
    rows = connection.execute(select(w.c.id, w.c.event_types, w.c.state).where(w.c.workspace == workspace))
    return [(row.id, tuple(row.event_types), row.state) for row in rows]


def insert_deliveries(connection: Connection, deliveries: list[Delivery]) -> int:
    """Adds deliveries; one already there for the same (webhook, event) is left alone."""
    if not deliveries:
        return 0
    statement = _INSERT[connection.dialect.name](d).on_conflict_do_nothing().returning(d.c.id)
    return len(connection.execute(statement, [_delivery_values(x) for x in deliveries]).all())


class SqlWebhookStore:
    def __init__(self, engine: Engine, box: SecretBox):
        self.engine = engine
        self.box = box

    # --- webhooks ---

    def add(self, hook: Webhook) -> bool:
        """False when the id is taken in the workspace."""
        # rowcount of an INSERT is not reliable (psycopg gives -1): RETURNING says whether it went in.
        statement = _INSERT[self.engine.dialect.name](w).on_conflict_do_nothing().returning(w.c.id)
        with self.engine.begin() as connection:
            return connection.execute(statement, _webhook_values(hook, self.box)).first() is not None

    def get(self, workspace: str, webhook_id: str) -> Webhook | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(w).where(w.c.workspace == workspace, w.c.id == webhook_id)).first()
        return None if row is None else _webhook(row, self.box)

    def by_request(self, workspace: str, request_id: str) -> Webhook | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(w).where(w.c.workspace == workspace,
                                                     w.c.request_id == request_id)).first()
        return None if row is None else _webhook(row, self.box)

    def list(self, workspace: str, after: tuple[datetime, str] | None, limit: int) -> list[Webhook]:
        query = select(w).where(w.c.workspace == workspace)
        if after is not None:
            time, hook_id = after
            query = query.where(or_(w.c.create_time > time, and_(w.c.create_time == time, w.c.id > hook_id)))
        query = query.order_by(w.c.create_time, w.c.id).limit(limit)
        with self.engine.connect() as connection:
            return [_webhook(row, self.box) for row in connection.execute(query)]

    def save(self, hook: Webhook, expected_version: int) -> bool:
        """Writes the webhook if nobody changed it since `expected_version`."""
        values = _webhook_values(hook, self.box)
        for key in ("workspace", "id", "create_time", "request_id"):
            values.pop(key)
        with self.engine.begin() as connection:
            result = connection.execute(update(w).where(
                w.c.workspace == hook.workspace, w.c.id == hook.id, w.c.version == expected_version).values(**values))
            return result.rowcount == 1

    def delete(self, workspace: str, webhook_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(d).where(d.c.workspace == workspace, d.c.webhook_id == webhook_id))
            connection.execute(delete(w).where(w.c.workspace == workspace, w.c.id == webhook_id))

    # --- deliveries ---

    def add_delivery(self, delivery: Delivery) -> None:
        with self.engine.begin() as connection:
            connection.execute(d.insert().values(**_delivery_values(delivery)))

    def enqueue(self, delivery: Delivery) -> Delivery:
        """Adds the delivery unless one for the same (webhook, event) is there; returns the one stored."""
        with self.engine.begin() as connection:
            insert_deliveries(connection, [delivery])
            row = connection.execute(select(d).where(d.c.workspace == delivery.workspace,
                                                     d.c.webhook_id == delivery.webhook_id,
                                                     d.c.event_id == delivery.event_id)).one()
        return _delivery(row)

    def get_delivery(self, workspace: str, webhook_id: str, delivery_id: str) -> Delivery | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(d).where(d.c.workspace == workspace, d.c.webhook_id == webhook_id,
                                                     d.c.id == delivery_id)).first()
        return None if row is None else _delivery(row)

    def list_deliveries(self, workspace: str, webhook_id: str, after: tuple[datetime, str] | None,
                        limit: int) -> list[Delivery]:
        query = select(d).where(d.c.workspace == workspace, d.c.webhook_id == webhook_id)
        if after is not None:
            time, delivery_id = after
            query = query.where(or_(d.c.create_time < time, and_(d.c.create_time == time, d.c.id < delivery_id)))
        query = query.order_by(d.c.create_time.desc(), d.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_delivery(row) for row in connection.execute(query)]

    def replay(self, delivery: Delivery) -> bool:
        """Puts a finished delivery back in the queue; False if it changed meanwhile."""
        with self.engine.begin() as connection:
            return connection.execute(update(d).where(
                d.c.id == delivery.id, d.c.workspace == delivery.workspace, d.c.state != PENDING).values(
                state=PENDING, failures=0, error="", next_attempt_time=delivery.next_attempt_time,
                lease_owner=None, lease_expire_time=None)).rowcount == 1

    def due_webhooks(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(workspace, webhook) of ACTIVE webhooks that have a delivery due and not leased."""
        query = (select(d.c.workspace, d.c.webhook_id, func.min(d.c.next_attempt_time).label("due"))
                 .join(w, and_(w.c.workspace == d.c.workspace, w.c.id == d.c.webhook_id))
                 .where(d.c.state == PENDING, d.c.next_attempt_time <= now, w.c.state == ACTIVE,
                        or_(d.c.lease_expire_time.is_(None), d.c.lease_expire_time < now))
                 .group_by(d.c.workspace, d.c.webhook_id).order_by("due").limit(limit))
        with self.engine.connect() as connection:
            return [(row.workspace, row.webhook_id) for row in connection.execute(query)]

    def claim(self, workspace: str, webhook_id: str, now: datetime, owner: str, lease_until: datetime,
              limit: int) -> list[Delivery]:
        """Leases up to `limit` due deliveries of one webhook, oldest due first. Each row is taken by a
        conditional update, so of two replicas claiming at once exactly one gets it."""
        free = or_(d.c.lease_expire_time.is_(None), d.c.lease_expire_time < now)
        candidates = (select(d.c.id).where(d.c.workspace == workspace, d.c.webhook_id == webhook_id,
                                           d.c.state == PENDING, d.c.next_attempt_time <= now, free)
                      .order_by(d.c.next_attempt_time, d.c.id).limit(limit))
        claimed = []
        with self.engine.begin() as connection:
            for delivery_id in connection.execute(candidates).scalars().all():
                taken = connection.execute(update(d).where(d.c.id == delivery_id, d.c.state == PENDING, free)
                                           .values(lease_owner=owner, lease_expire_time=lease_until)).rowcount
                if taken == 1:
                    claimed.append(delivery_id)
            if not claimed:
                return []
            rows = connection.execute(select(d).where(d.c.id.in_(claimed)).order_by(d.c.next_attempt_time, d.c.id))
            return [_delivery(row) for row in rows]

    def finish(self, delivery: Delivery, owner: str) -> bool:
        """Records an attempt's outcome and releases the lease; False if the lease was lost."""
        values = _delivery_values(delivery)
        for key in ("workspace", "webhook_id", "id", "event_id", "event_type", "body", "create_time"):
            values.pop(key)
        with self.engine.begin() as connection:
            return connection.execute(update(d).where(d.c.id == delivery.id, d.c.lease_owner == owner).values(
                lease_owner=None, lease_expire_time=None, **values)).rowcount == 1

    def note_success(self, workspace: str, webhook_id: str, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(w).where(w.c.workspace == workspace, w.c.id == webhook_id).values(
                consecutive_failures=0, last_success_time=now))

    def note_failure(self, workspace: str, webhook_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(w).where(w.c.workspace == workspace, w.c.id == webhook_id).values(
                consecutive_failures=w.c.consecutive_failures + 1))

    def disable(self, workspace: str, webhook_id: str, reason: str, now: datetime) -> int:
        """The webhook becomes FAILING with `reason`; its pending deliveries are dead-lettered
        (FAILED, replayable). Returns how many were."""
        with self.engine.begin() as connection:
            connection.execute(update(w).where(w.c.workspace == workspace, w.c.id == webhook_id,
                                               w.c.state == ACTIVE).values(
                state=FAILING, state_message=reason[:1024], update_time=now, version=w.c.version + 1))
            return connection.execute(update(d).where(
                d.c.workspace == workspace, d.c.webhook_id == webhook_id, d.c.state == PENDING,
                or_(d.c.lease_expire_time.is_(None), d.c.lease_expire_time < now)).values(
                state=FAILED, error=f"dead-lettered: {reason}"[:1024], next_attempt_time=None)).rowcount

    def expire_paused(self, before: datetime) -> int:
        """Dead-letters the pending deliveries of PAUSED webhooks queued before `before`."""
        paused = select(w.c.id).where(w.c.workspace == d.c.workspace, w.c.state == PAUSED).scalar_subquery()
        with self.engine.begin() as connection:
            return connection.execute(update(d).where(
                d.c.state == PENDING, d.c.create_time < before, d.c.webhook_id.in_(paused)).values(
                state=FAILED, next_attempt_time=None,
                error="dead-lettered: kept 3 days while the webhook was PAUSED")).rowcount

    def prune(self, before: datetime) -> int:
        """Deletes finished deliveries last attempted (or made) before `before`."""
        with self.engine.begin() as connection:
            return connection.execute(delete(d).where(
                d.c.state != PENDING, func.coalesce(d.c.last_attempt_time, d.c.create_time) < before)).rowcount

    def state_counts(self, workspace: str, webhook_id: str) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(d.c.state, func.count()).where(
                d.c.workspace == workspace, d.c.webhook_id == webhook_id).group_by(d.c.state))
            return {state: count for state, count in rows}

