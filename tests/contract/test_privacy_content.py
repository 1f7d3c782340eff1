"""content's part of privacy requests, on SQLite and PostgreSQL: it stores nothing about a profile,
and still confirms each erasure once (through its own outbox, migration 0003) and answers an export
with empty lists."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from svc_content import migrate
from svc_content.adapters import privacy
from svc_content.adapters.tables import content_inbox, metadata
from tests.contract.privacy_helpers import confirmations, deliver, profile_erased
from tests.databases import SQL_ENGINES, empty_tables, engine_fixtures

sqlite_engine, postgres_engine = engine_fixtures("content", migrate.upgrade)


@pytest.fixture(params=SQL_ENGINES)
def engine(request) -> Engine:
    return empty_tables(request.getfixturevalue(request.param), metadata)


def test_an_erasure_is_confirmed_once(engine, tmp_path):
    erased = profile_erased("acme", "ann")
    assert deliver(engine, tmp_path, content_inbox, privacy.OUTBOX, "content", privacy.erase_profile,
                   [erased, erased, {**profile_erased("acme", "ann"), "event_type": "profile_unsubscribed"}]) == 1
    [confirmation] = confirmations(engine, privacy.OUTBOX)
    assert confirmation["payload"] == {"profile": "workspaces/acme/profiles/ann", "erasure": erased["event_id"],
                                       "service": "content", "counts": {"storedRenders": 0}}
    with engine.connect() as connection:
        assert privacy.export_profile(connection, "acme", "ann") == {"storedRenders": []}
