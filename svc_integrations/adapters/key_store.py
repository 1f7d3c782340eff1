"""API keys in SQLite or PostgreSQL (SQLAlchemy Core)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, and_, or_, select, update

from svc_integrations.adapters.tables import api_keys
from svc_integrations.domain.api_keys import ApiKey


def _key(row) -> ApiKey:
    return ApiKey(workspace=row.workspace, id=row.id, role=row.role, display_name=row.display_name,
                  secret_hash=row.secret_sha256, create_time=row.create_time, revoke_time=row.revoke_time,
                  last_used_time=row.last_used_time)


class SqlKeyStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, key: ApiKey) -> None:
        with self.engine.begin() as connection:
            connection.execute(api_keys.insert().values(
                id=key.id, workspace=key.workspace, role=key.role, display_name=key.display_name,
                secret_sha256=key.secret_hash, create_time=key.create_time))

    def get(self, key_id: str) -> ApiKey | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        return None if row is None else _key(row)

    def list(self, workspace: str, after: tuple[datetime, str] | None, limit: int) -> list[ApiKey]:
        query = select(api_keys).where(api_keys.c.workspace == workspace)
        if after is not None:
            time, key_id = after
            query = query.where(or_(api_keys.c.create_time < time,
                                    and_(api_keys.c.create_time == time, api_keys.c.id < key_id)))
        query = query.order_by(api_keys.c.create_time.desc(), api_keys.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_key(row) for row in connection.execute(query)]

    def revoke(self, key_id: str, now: datetime) -> ApiKey | None:
        with self.engine.begin() as connection:
            connection.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoke_time.is_(None))
                               .values(revoke_time=now))
        return self.get(key_id)

    def touch(self, key_id: str, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_time=now))
