"""notify's part of privacy requests, on SQLite and PostgreSQL, through a real bus and its inbox:
profile_erased anonymises the profile's messages and deliveries (rows kept for counts) and deletes
its inbox, once per event; a waiting message is cancelled; another profile and the same profile id
in another workspace are untouched; the confirmation is in the outbox; the export shows the
records before and nothing after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from svc_kit.channels import Channel

from svc_notify import migrate
from svc_notify.adapters import privacy
from svc_notify.adapters.repositories import SqlDeliveryRepository, SqlInboxRepository, SqlMessageRepository
from svc_notify.adapters.sql_unit_of_work import OUTBOX
from svc_notify.adapters.tables import messages, metadata, notify_inbox
from svc_notify.domain.inbox import InboxItem
from svc_notify.domain.model import Delivery, DeliveryState, EmailContent, InAppContent, Message, State
from tests.contract.privacy_helpers import NOW, confirmations, deliver, profile_erased
from tests.databases import SQL_ENGINES, empty_tables, engine_fixtures

sqlite_engine, postgres_engine = engine_fixtures("notify", migrate.upgrade)


@pytest.fixture(params=SQL_ENGINES)
def engine(request) -> Engine:
    return empty_tables(request.getfixturevalue(request.param), metadata)


def seed(engine: Engine, workspace: str, profile: str, n: int, sent: bool = True) -> None:
    message = Message.accept(workspace, f"m-{profile}-{n}", Channel.EMAIL, profile, f"hello/{profile}/{n}", NOW,
                             content=EmailContent(subject="Hi Ann", text="your secret offer"))
    if sent:
        message.state, message.address, message.sent_time = State.SENT, f"{profile}@example.com", NOW
    with engine.begin() as connection:
        SqlMessageRepository(connection).add([message])
        SqlDeliveryRepository(connection).add([Delivery(
            workspace, message.id, f"d-{profile}-{n}", 1, "default-smtp", DeliveryState.ACCEPTED,
            f"{profile}@example.com", "pm-1", "250 OK queued for ann", None, NOW, NOW)])
        SqlInboxRepository(connection).add([InboxItem(workspace, profile, f"i-{profile}-{n}", message.id,
                                                      InAppContent(title="Hi Ann", body="secret"), "", False, NOW,
                                                      None, NOW + timedelta(days=30))])


def export(engine: Engine, workspace: str, profile: str) -> dict:
    with engine.connect() as connection:
        return privacy.export_profile(connection, workspace, profile)


def test_erasure_anonymises_once_and_confirms(engine, tmp_path):
    seed(engine, "acme", "ann", 1)
    seed(engine, "acme", "ann", 2, sent=False)  # still waiting: cancelled
    seed(engine, "acme", "bob", 1)
    seed(engine, "other", "ann", 1)
    before = export(engine, "acme", "ann")
    assert [m["address"] for m in before["messages"]] == ["ann@example.com", ""]
    assert len(before["deliveries"]) == 2 and len(before["inboxItems"]) == 2
    assert before["messages"][0]["content"]["email"]["text"] == "your secret offer"

    event = profile_erased("acme", "ann")
    assert deliver(engine, tmp_path, notify_inbox, OUTBOX, "notify", privacy.erase_profile, [event, event]) == 1

    with engine.connect() as connection:
        rows = {r.id: r for r in connection.execute(select(messages).where(messages.c.workspace == "acme"))}
    for n in (1, 2):
        row = rows[f"m-ann-{n}"]
        assert (row.recipient, row.address, row.content, row.template, row.labels) == ("", "", None, None, {})
        assert row.idempotency_key == f"erased/m-ann-{n}"
    assert rows["m-ann-1"].state == "SENT" and rows["m-ann-2"].state == "CANCELLED"
    assert rows["m-bob-1"].recipient == "bob" and rows["m-bob-1"].address == "bob@example.com"
    assert export(engine, "acme", "ann") == {"messages": [], "deliveries": [], "inboxItems": []}
    kept = export(engine, "other", "ann")
    assert len(kept["messages"]) == 1 and kept["deliveries"][0]["address"] == "ann@example.com"
    assert len(export(engine, "acme", "bob")["inboxItems"]) == 1

    [confirmation] = confirmations(engine, OUTBOX)
    assert confirmation["aggregate_id"] == event["event_id"] and confirmation["workspace"] == "acme"
    payload = confirmation["payload"]
    assert payload["service"] == "notify" and payload["erasure"] == event["event_id"]
    assert payload["counts"] == {"messages": 2, "deliveries": 2, "inboxItems": 2}


def test_a_second_erasure_finds_nothing_left(engine, tmp_path):
    seed(engine, "acme", "ann", 1)
    deliver(engine, tmp_path, notify_inbox, OUTBOX, "notify", privacy.erase_profile,
            [profile_erased("acme", "ann"), profile_erased("acme", "ann")])
    first, second = confirmations(engine, OUTBOX)
    assert first["payload"]["counts"]["messages"] == 1
    assert second["payload"]["counts"] == {"messages": 0, "deliveries": 0, "inboxItems": 0}
