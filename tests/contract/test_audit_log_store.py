"""The audit log in the integrations database (SQLite and PostgreSQL, migrated with Alembic):
appended records listed per workspace, newest first, with filters and pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from svc_integrations import migrate
from svc_integrations.adapters.audit_store import SqlAuditStore
from svc_integrations.service_layer.audit_log import AuditFilter, AuditLog
from svc_kit.audit import AuditRecord
from svc_kit.errors import InvalidArgument
from svc_kit.pagination import timed_keyset_page
from svc_integrations.adapters.tables import metadata
from tests.databases import SQL_ENGINES, empty_tables, engine_fixtures

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
CAMPAIGNS = "marketing.campaign.v1.CampaignService"
KEYS = "marketing.integrations.v1.IntegrationsService"


sqlite_engine, postgres_engine = engine_fixtures("integrations", migrate.upgrade)


@pytest.fixture(params=SQL_ENGINES)
def engine(request):
    return empty_tables(request.getfixturevalue(request.param), metadata)


def record(minute: int, principal="alice@example.com", action=f"{CAMPAIGNS}/UpdateCampaign",
           resource="workspaces/acme/campaigns/c1", workspace="acme", **extra) -> AuditRecord:
    return AuditRecord(workspace=workspace, principal=principal, via="jwt", action=action, resource=resource,
                       time=T0 + timedelta(minutes=minute), source_address="203.0.113.7", status="OK", **extra)


@pytest.fixture
def log(engine):
    ids = count(1)
    log = AuditLog(SqlAuditStore(engine), lambda: f"e{next(ids):04d}")
    log.append(record(1, etag_before='"1"', etag_after='"2"'))
    log.append(record(2, principal="bob@example.com", action=f"{KEYS}/CreateApiKey",
                      resource="workspaces/acme/apiKeys/k1"))
    log.append(record(3, resource="workspaces/acme/campaigns/c2"))
    log.append(record(4, workspace="other", resource="workspaces/other/campaigns/c1"))
    log.append(record(5, resource="workspaces/acme/campaigns/c1_x%"))
    return log


def listed(log, where=AuditFilter(), parent="workspaces/acme"):
    return [entry.record.time.minute for entry in log.list(parent, where, None, 100)]


def test_entries_are_listed_per_workspace_newest_first_with_every_field(log):
    assert listed(log) == [5, 3, 2, 1]
    oldest = log.list("workspaces/acme", AuditFilter(), None, 100)[-1]
    assert oldest.name == "workspaces/acme/auditEntries/e0001"
    assert oldest.record == record(1, etag_before='"1"', etag_after='"2"')
    assert listed(log, parent="workspaces/other") == [4]


def test_filters_by_principal_action_resource_prefix_and_time_range(log):
    assert listed(log, AuditFilter(principal="bob@example.com")) == [2]
    assert listed(log, AuditFilter(action="CreateApiKey")) == [2]
    assert listed(log, AuditFilter(action=f"{CAMPAIGNS}/UpdateCampaign")) == [5, 3, 1]
    assert listed(log, AuditFilter(resource_prefix="workspaces/acme/campaigns/c1")) == [5, 1]
    # LIKE wildcards in the prefix are literal characters.
    assert listed(log, AuditFilter(resource_prefix="workspaces/acme/campaigns/c1_x%")) == [5]
    assert listed(log, AuditFilter(resource_prefix="workspaces/acme/campaigns/c_")) == []
    assert listed(log, AuditFilter(start_time=T0 + timedelta(minutes=2), end_time=T0 + timedelta(minutes=5))) == [3, 2]


def test_pages_follow_each_other_without_gaps_or_repeats(log):
    seen, token = [], ""
    while True:
        page, token = timed_keyset_page(
            lambda after, limit: log.list("workspaces/acme", AuditFilter(), after, limit),
            lambda entry: (entry.record.time, entry.id), 3, token, "audit")
        seen += [entry.id for entry in page]
        if not token:
            break
    assert seen == ["e0005", "e0003", "e0002", "e0001"]


def test_bad_filters_are_invalid_arguments_naming_the_field(log):
    with pytest.raises(InvalidArgument) as bad:
        log.list("workspaces/acme", AuditFilter(start_time=T0, end_time=T0), None, 10)
    assert bad.value.violations[0].field == "end_time"
    with pytest.raises(InvalidArgument) as bad:
        log.list("workspaces/acme", AuditFilter(resource_prefix="workspaces/other/"), None, 10)
    assert bad.value.violations[0].field == "resource_prefix"
    with pytest.raises(InvalidArgument) as bad:
        log.list("acme", AuditFilter(), None, 10)
    assert bad.value.violations[0].field == "parent"


def test_audit_events_from_another_service_outbox_are_appended_once_even_when_relayed_twice(engine, tmp_path):
    """A service's audit record: its outbox (OutboxAuditSink) -> relay -> the embedded bus ->
    the integrations' inbox consumer. A relay that stops between publishing and marking
    publishes again: the log still holds the record once."""
    from sqlalchemy import MetaData, create_engine, update

    from svc_integrations.entrypoints.audit_consumer import audit_consumer
    from svc_kit.bus.embedded import EmbeddedBus
    from svc_kit.events.audit import AUDIT_SCHEMA, AUDIT_TOPIC, OutboxAuditSink
    from svc_kit.events.outbox import Outbox, OutboxRelay, outbox_table

    metadata = MetaData()
    table = outbox_table(metadata, "producer_outbox")
    producer_engine = create_engine(f"sqlite:///{tmp_path / 'producer.sqlite3'}")
    metadata.create_all(producer_engine)
    outbox = Outbox(table, {AUDIT_TOPIC: AUDIT_SCHEMA})
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    consumer = audit_consumer(bus, engine)
    relay = OutboxRelay(producer_engine, outbox, bus)
    try:
        OutboxAuditSink(producer_engine, outbox, "svc_campaign")(record(7, etag_before='"7"', etag_after='"8"'))
        assert relay.run_once() == 1
        with producer_engine.begin() as connection:  # as if the relay died before marking it sent
            connection.execute(update(table).values(published_time=None))
        assert relay.run_once() == 1
        while consumer.poll(0.5):
            pass
        assert consumer.processed == 1 and consumer.duplicates == 1
        [entry] = AuditLog(SqlAuditStore(engine), lambda: "unused").list("workspaces/acme", AuditFilter(), None, 10)
        assert entry.record == record(7, etag_before='"7"', etag_after='"8"')
    finally:
        relay.close()
        consumer.close()
        bus.close()
        producer_engine.dispose()
