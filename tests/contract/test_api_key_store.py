"""API keys in the integrations database (SQLite and PostgreSQL, migrated with Alembic),
through the use cases the edge's key check and the API run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from svc_integrations import migrate
from svc_integrations.adapters.key_store import SqlKeyStore
from svc_integrations.service_layer.api_keys import ApiKeys
from svc_kit.errors import InvalidArgument, NotFound
from svc_integrations.adapters.tables import metadata
from tests.databases import SQL_ENGINES, empty_tables, engine_fixtures


sqlite_engine, postgres_engine = engine_fixtures("integrations", migrate.upgrade)


@pytest.fixture(params=SQL_ENGINES)
def engine(request):
    return empty_tables(request.getfixturevalue(request.param), metadata)


class Clock:
    def __init__(self):
        self.now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

    def __call__(self):
        return self.now


def test_a_key_is_stored_hashed_checked_listed_and_revoked_at_once(engine):
    clock = Clock()
    keys = ApiKeys(SqlKeyStore(engine), clock, cache_seconds=60)
    key, plain = keys.create("workspaces/acme", "editor", "CRM sync")
    assert plain.startswith(f"mk_{key.id}_") and plain[-43:] not in key.secret_hash
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT secret_sha256 FROM api_keys").scalar_one()
    assert plain not in stored and len(stored) == 64

    verdict = keys.check(plain)
    assert verdict.key is not None and verdict.key.workspace == "acme" and verdict.key.role == "editor"
    assert keys.get(key.name).last_used_time == clock.now
    assert keys.check(plain[:-1] + ("A" if plain[-1] != "A" else "B")).reason == "the API key is unknown"
    assert keys.check("mk_nope").reason == "the API key is malformed"

    clock.now += timedelta(seconds=1)
    other, _ = keys.create("workspaces/acme", "viewer", "")
    keys.create("workspaces/beta", "admin", "")
    assert [k.id for k in keys.list("workspaces/acme", None, 10)] == [other.id, key.id]  # newest first

    revoked = keys.revoke(key.name)
    assert revoked.revoke_time == clock.now
    assert keys.check(plain).reason == "the API key was revoked"  # the cache held it: dropped at once
    assert keys.revoke(key.name).revoke_time == clock.now  # again: unchanged


def test_bad_input_and_other_workspaces(engine):
    keys = ApiKeys(SqlKeyStore(engine), Clock())
    with pytest.raises(InvalidArgument, match="api_key.role"):
        keys.create("workspaces/acme", "owner", "")
    with pytest.raises(InvalidArgument, match="parent"):
        keys.create("acme", "viewer", "")
    key, _ = keys.create("workspaces/acme", "viewer", "")
    with pytest.raises(NotFound):
        keys.get(f"workspaces/beta/apiKeys/{key.id}")
    with pytest.raises(NotFound):
        keys.revoke(f"workspaces/beta/apiKeys/{key.id}")
