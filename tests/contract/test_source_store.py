"""Sources and the collected messageIds in the integrations database (SQLite and
PostgreSQL, migrated with Alembic), through the use cases the API and the collector run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from svc_integrations import migrate
from svc_integrations.adapters.source_store import SqlSeenMessages, SqlSourceStore
from svc_integrations.service_layer.sources import Sources
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


def test_a_write_key_is_stored_hashed_checked_listed_and_revoked_at_once(engine):
    clock = Clock()
    sources = Sources(SqlSourceStore(engine), clock, cache_seconds=60)
    source, plain = sources.create("workspaces/acme", "website")
    assert plain.startswith(f"wk_{source.id}_")
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT secret_sha256 FROM sources").scalar_one()
    assert plain not in stored and plain[-43:] not in stored and len(stored) == 64

    found, reason = sources.check(plain)
    assert found is not None and found.workspace == "acme" and reason == ""
    assert sources.get(source.name).last_used_time == clock.now
    assert sources.check(plain[:-1] + ("A" if plain[-1] != "A" else "B"))[1] == "the write key is unknown"
    assert sources.check("mk_nope")[1] == "the write key is missing or malformed"

    clock.now += timedelta(seconds=1)
    other, _ = sources.create("workspaces/acme", "")
    sources.create("workspaces/beta", "app")
    assert [s.id for s in sources.list("workspaces/acme", None, 10)] == [other.id, source.id]
    assert [s.id for s in sources.list("workspaces/acme", (other.create_time, other.id), 10)] == [source.id]

    assert sources.revoke(source.name).revoke_time == clock.now
    assert sources.check(plain)[1] == "the write key was revoked"  # the cache held it: dropped at once
    assert sources.revoke(source.name).revoke_time == clock.now  # again: unchanged


def test_a_source_of_another_workspace_is_not_found_and_names_are_checked(engine):
    sources = Sources(SqlSourceStore(engine), Clock())
    source, _ = sources.create("workspaces/acme", "")
    with pytest.raises(NotFound):
        sources.get(f"workspaces/beta/sources/{source.id}")
    with pytest.raises(NotFound):
        sources.revoke(f"workspaces/beta/sources/{source.id}")
    with pytest.raises(InvalidArgument):
        sources.create("acme", "")
    with pytest.raises(InvalidArgument):
        sources.create("workspaces/acme", "x" * 201)


def test_message_ids_are_remembered_per_source_and_forgotten_after_the_retention(engine):
    seen = SqlSeenMessages(engine)
    start = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    seen.remember("s1", ["a", "b"], start)
    seen.remember("s1", ["b", "c"], start + timedelta(hours=2))  # b again: ignored, kept at its first time
    assert seen.seen("s1", ["a", "b", "c", "d"]) == {"a", "b", "c"}
    assert seen.seen("s2", ["a", "b"]) == set()
    assert seen.seen("s1", [f"m{i}" for i in range(1200)] + ["a"]) == {"a"}  # more than one IN (...) chunk
    assert seen.forget_before(start + timedelta(hours=1)) == 2
    assert seen.seen("s1", ["a", "b", "c"]) == {"c"}
