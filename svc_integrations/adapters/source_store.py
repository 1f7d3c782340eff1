"""Sources and the messageIds already collected, in SQLite or PostgreSQL (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from svc_integrations.adapters.tables import collected_messages, sources
from svc_integrations.domain.sources import Source

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
LOOKUP_CHUNK = 500  # messageIds per IN (...) query


def _source(row) -> Source:
    return Source(workspace=row.workspace, id=row.id, display_name=row.display_name,
                  secret_hash=row.secret_sha256, create_time=row.create_time, revoke_time=row.revoke_time,
                  last_used_time=row.last_used_time)


class SqlSourceStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, source: Source) -> None:
        with self.engine.begin() as connection:
            connection.execute(sources.insert().values(
                id=source.id, workspace=source.workspace, display_name=source.display_name,
                secret_sha256=source.secret_hash, create_time=source.create_time))

    def get(self, source_id: str) -> Source | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(sources).where(sources.c.id == source_id)).first()
        return None if row is None else _source(row)

    def list(self, workspace: str, after: tuple[datetime, str] | None, limit: int) -> list[Source]:
        query = select(sources).where(sources.c.workspace == workspace)
        if after is not None:
            time, source_id = after
            query = query.where(or_(sources.c.create_time < time,
                                    and_(sources.c.create_time == time, sources.c.id < source_id)))
        query = query.order_by(sources.c.create_time.desc(), sources.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_source(row) for row in connection.execute(query)]

    def revoke(self, source_id: str, now: datetime) -> Source | None:
        with self.engine.begin() as connection:
            connection.execute(update(sources).where(sources.c.id == source_id, sources.c.revoke_time.is_(None))
                               .values(revoke_time=now))
        return self.get(source_id)

    def touch(self, source_id: str, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(sources).where(sources.c.id == source_id).values(last_used_time=now))


class SqlSeenMessages:
    """The deduplication table: (source, messageId) -> when it was collected."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def seen(self, source_id: str, message_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(message_ids), LOOKUP_CHUNK):
                chunk = list(message_ids[start:start + LOOKUP_CHUNK])
                found.update(connection.execute(
                    select(collected_messages.c.message_id).where(
                        collected_messages.c.source_id == source_id,
                        collected_messages.c.message_id.in_(chunk))).scalars())
        return found

    def remember(self, source_id: str, message_ids: Sequence[str], now: datetime) -> None:
        if not message_ids:
            return
        with self.engine.begin() as connection:
            statement = _INSERT[connection.dialect.name](collected_messages).on_conflict_do_nothing()
            connection.execute(statement, [{"source_id": source_id, "message_id": m, "receive_time": now}
                                           for m in message_ids])

    def forget_before(self, cutoff: datetime) -> int:
        with self.engine.begin() as connection:
            return connection.execute(
                delete(collected_messages).where(collected_messages.c.receive_time < cutoff)).rowcount or 0
