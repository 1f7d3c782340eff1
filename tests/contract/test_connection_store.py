"""Connections and syncs in the integrations database (SQLite and PostgreSQL, migrated with
Alembic), through their use cases: credentials only encrypted at rest and rotated to a new key,
full and incremental runs against the local generic HTTP endpoint (a real HTTP server), the
incremental ones diffing the live membership against the synced set (changes no event announced,
refused rows retried, identifiers changed or erased, a cancelled run's synced set), change marks
from segment_updated deciding whether a scheduled run is skipped, cancellation, retries, and a run
left RUNNING by a dead worker taken over once its lease lapses."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from devstack.platforms.generic_http import GenericHttpServer
from svc_integrations import migrate
from svc_integrations.adapters.connection_store import SqlConnectionStore, SqlSyncStore, mark_segment_changed
from svc_integrations.adapters.connectors import default_registry
from svc_integrations.adapters.connectors.generic_http import GenericHttpConnector
from svc_integrations.adapters.credential_cipher import FernetCipher, new_credential_key
from svc_integrations.adapters.tables import connections as connections_table
from svc_integrations.domain.connectors import ConnectionCheckFailed, Member
from svc_integrations.domain.syncs import Held
from svc_integrations.service_layer.connections import ConnectionInput, Connections
from svc_integrations.service_layer.syncs import RunnerSettings, SyncInput, SyncRunner, Syncs
from svc_integrations.service_layer.webhooks import destination_problems
from svc_kit.errors import FailedPrecondition, InvalidArgument, NotFound
from svc_kit.ids import new_id
from tests.databases import migrated_engine

TOKEN = "tok-" + "x" * 20


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'integrations.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database(f"connections_{os.getpid()}")
    engine = migrated_engine(url, migrate.upgrade)
    yield engine
    engine.dispose()


@pytest.fixture
def endpoint():
    with GenericHttpServer(auth="bearer", token=TOKEN) as server:
        yield server


class Clock:
    def __init__(self):
        self.now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

    def __call__(self):
        return self.now


class SegmentMembers:
    """The audience service's side of a sync (the Audience port): a segment's live members by id,
    in pages of two."""

    def __init__(self, members: dict[str, str]):
        self.by_id = dict(members)  # profile id -> email

    def members(self, workspace, segment_id):
        ordered = [Member(profile_id=p, email=self.by_id[p]) for p in sorted(self.by_id)]
        for start in range(0, len(ordered), 2):
            yield ordered[start:start + 2]


def services(engine, keys, clock=None):
    clock = clock or Clock()
    connections = Connections(SqlConnectionStore(engine), default_registry(), FernetCipher(keys), clock, new_id)
    return connections, Syncs(SqlSyncStore(engine), connections, clock, new_id)


def http_connection(connections, url, token=TOKEN, ws="acme", **parameters):
    return connections.create(f"workspaces/{ws}", ConnectionInput(
        display_name="Endpoint", connector=f"workspaces/{ws}/connectors/http",
        parameters={"url": url, "auth": "bearer", **parameters}, credentials={"token": token}))


def active_connection(connections, url, **parameters):
    created = http_connection(connections, url, **parameters)
    assert connections.test(created.name).state == "ACTIVE"
    return created


def raw_rows(engine):
    with engine.connect() as db:
        return [dict(row) for row in db.execute(select(connections_table)).mappings()]


def test_credentials_are_stored_encrypted_write_only_and_rotated_to_a_new_key(engine, endpoint):
    old, new = new_credential_key(), new_credential_key()
    connections, _ = services(engine, [old])
    created = http_connection(connections, endpoint.url)
    assert created.credentials_secret == f"{created.name}/credentials"
    (row,) = raw_rows(engine)
    assert TOKEN not in json.dumps({k: str(v) for k, v in row.items()})
    assert connections.test(created.name).state == "ACTIVE"

    # Rotation: the new key first, every credential re-encrypted, then the old key dropped.
    rotating, _ = services(engine, [new, old])
    assert rotating.rotate_keys() == (1, 0)
    assert rotating.rotate_keys() == (0, 1)
    only_new, _ = services(engine, [new])
    assert only_new.test(created.name).state == "ACTIVE"
    stale, _ = services(engine, [old])
    with pytest.raises(FailedPrecondition):
        stale.test(created.name)

    # UpdateConnection with credentials in the mask replaces them; a wrong token fails the check
    # with the endpoint's own reason.
    only_new.update(created.name, ConnectionInput(credentials={"token": "wrong"}), ["credentials"])
    failed = only_new.test(created.name)
    assert failed.state == "ERROR" and "invalid credentials" in failed.state_message


def test_a_refreshed_token_is_kept_encrypted_and_an_old_key_is_rotated_on_read(engine, endpoint):
    old, new = new_credential_key(), new_credential_key()
    connections, _ = services(engine, [old])
    created = http_connection(connections, endpoint.url, token="expired")
    both = FernetCipher([new, old])
    assert not both.current(raw_rows(engine)[0]["credentials_ciphertext"])
    current, _ = services(engine, [new, old])
    connector, context = current.context(created)
    assert both.current(raw_rows(engine)[0]["credentials_ciphertext"]), "re-encrypted with the new key on read"
    context.credentials.replace({"token": TOKEN})  # what a connector does after refreshing a token
    (row,) = raw_rows(engine)
    assert TOKEN not in row["credentials_ciphertext"]
    assert services(engine, [new])[0].test(created.name).state == "ACTIVE"


def test_connections_are_validated_and_scoped_by_workspace(engine, endpoint):
    connections, _ = services(engine, [new_credential_key()])
    with pytest.raises(InvalidArgument) as error:
        connections.create("workspaces/acme", ConnectionInput(
            display_name="x", connector="workspaces/acme/connectors/http", parameters={"batch_size": "many"}))
    fields = {v.field for v in error.value.violations}
    assert {"connection.parameters[batch_size]", "connection.parameters[url]"} <= fields
    created = http_connection(connections, endpoint.url)
    with pytest.raises(NotFound):
        connections.get(created.name.replace("acme", "other"))
    assert [c.id for c in connections.list("workspaces/other", None, 10)] == []
    assert [c.id for c in connections.list("workspaces/acme", None, 10)] == [created.id]


class Resolver:
    """Names as a DNS answer would give them (the production URL rule resolves each connector URL)."""

    def __init__(self, answers: dict[str, list[str]]):
        self.answers = answers

    def resolve(self, host):
        return self.answers[host]


def test_in_production_mode_connector_urls_reach_public_addresses_only(engine, endpoint):
    resolver = Resolver({"crm.example": ["93.184.216.34"], "inside.example": ["93.184.216.34", "10.0.0.5"]})
    connections = Connections(SqlConnectionStore(engine), default_registry(guarded=True),
                              FernetCipher([new_credential_key()]), Clock(), new_id,
                              url_check=lambda uri, where: destination_problems(uri, "production", resolver, where))
    for url, why in ((endpoint.url, "must be https"), ("https://inside.example/hook", "resolves to 10.0.0.5"),
                     ("https://169.254.169.254/latest", "metadata")):
        with pytest.raises(InvalidArgument) as refused:
            http_connection(connections, url)
        (violation,) = refused.value.violations
        assert violation.field == "connection.parameters[url]" and why in violation.description, violation
    assert http_connection(connections, "https://crm.example/hook").parameters["url"] == "https://crm.example/hook"
    with pytest.raises(InvalidArgument):  # the platform connectors' base URLs too
        connections.create("workspaces/acme", ConnectionInput(
            display_name="Meta", connector="workspaces/acme/connectors/meta-custom-audiences",
            parameters={"ad_account_id": "1", "api_base_url": "https://inside.example"},
            credentials={"access_token": TOKEN}))

    # A URL that passed (development mode here; in production, a name re-pointed at an inside
    # address after the check) is refused again when the guarded connector connects: nothing is sent.
    local, _ = services(engine, [new_credential_key()])
    created = http_connection(local, endpoint.url)
    _, context = local.context(created)
    with pytest.raises(ConnectionCheckFailed, match="127.0.0.1, a loopback address"):
        GenericHttpConnector.guarded().check(context)
    assert endpoint.received == []
    GenericHttpConnector().check(context)  # the same call unguarded reaches it
    assert len(endpoint.received) == 1


def make_sync(syncs, connection, segment="big", mode="INCREMENTAL"):
    return syncs.create(connection.name, SyncInput(
        display_name="Big", direction="EXPORT", object="SEGMENT_MEMBERS",
        segment=f"workspaces/{connection.workspace}/segments/{segment}", remote_object="aud", mode=mode))


def segment_updated(engine, segment="big", ws="acme"):
    with engine.begin() as db:
        return mark_segment_changed(db, ws, segment)


def run(syncs, audience, sync, chunk_size=2, **kw):
    queued = syncs.run(sync.name, **kw)
    runner = SyncRunner(syncs, audience, "worker-1", RunnerSettings(chunk_size=chunk_size, retry_base=timedelta(0)))
    assert runner.run_one()
    return syncs.get_run(queued.name)


def held(engine, sync, ws="acme"):
    return SqlSyncStore(engine).held(ws, sync.id)


def sent(endpoint, batches, kind):
    return [row for batch in batches for row in batch[kind]]


def test_a_full_run_then_incremental_runs_send_the_diff_of_the_live_membership(engine, endpoint):
    connections, syncs = services(engine, [new_credential_key()])
    connection = active_connection(connections, endpoint.url, batch_size="2")
    audience = SegmentMembers({"a": "a@x.test", "b": "b@x.test", "r": "r@refused.test"})
    sync = make_sync(syncs, connection)

    seen = []  # the run as GetSyncRun shows it while the endpoint takes each batch
    endpoint.on_batch = lambda body: seen.append(syncs.list_runs(sync.name, None, 1)[0])
    first = run(syncs, audience, sync)
    endpoint.on_batch = None
    assert [(r.state, r.total) for r in seen] == [("RUNNING", 3)] * 2
    assert [r.done for r in seen] == [0, 2]  # told after each batch the destination took
    assert (first.state, first.added, first.failed, first.done, first.total) == ("SUCCEEDED", 2, 1, 3, 3)
    assert [e.record_id for e in first.record_errors] == ["r"]
    assert endpoint.members("aud") == {"a", "b"}
    # The synced set is exactly what the destination took: r, refused, stays out of it.
    assert held(engine, sync) == {"a": Held("a", "a@x.test"), "b": Held("b", "b@x.test")}

    # b leaves and c joins before any segment_updated says so (the audience's upkeep lags behind
    # its live query): the run sends them all the same.
    audience.by_id = {"a": "a@x.test", "c": "c@x.test", "r": "r@refused.test"}
    before = len(endpoint.batches())
    second = run(syncs, audience, sync)
    assert (second.state, second.added, second.removed, second.failed, second.total, second.done) == \
        ("SUCCEEDED", 1, 1, 1, 3, 3)
    assert endpoint.members("aud") == {"a", "c"}
    later = endpoint.batches()[before:]
    assert not any(b["replace"] for b in later)
    assert [row["id"] for row in sent(endpoint, later, "remove")] == ["b"]
    # r, refused last run, is sent again (and refused again: still out of the synced set).
    assert sorted(row["id"] for row in sent(endpoint, later, "add")) == ["c", "r"]
    assert [e.record_id for e in second.record_errors] == ["r"]
    assert set(held(engine, sync)) == {"a", "c"}
    assert [r.id for r in syncs.list_runs(sync.name, None, 10)] == [second.id, first.id]

    # Nothing changed: nothing to send but the refused row.
    del audience.by_id["r"]
    third = run(syncs, audience, sync)
    assert (third.state, third.total, third.added, third.removed) == ("SUCCEEDED", 0, 0, 0)


def test_a_changed_or_erased_profile_is_removed_with_the_identifiers_the_destination_took(engine, endpoint):
    connections, syncs = services(engine, [new_credential_key()])
    connection = active_connection(connections, endpoint.url, batch_size="10")
    audience = SegmentMembers({"a": "a@x.test", "e": "e@x.test", "m": "old@x.test"})
    sync = make_sync(syncs, connection)
    assert run(syncs, audience, sync).state == "SUCCEEDED"

    # e is erased (gone from the audience: no email to read any more); m's email changes.
    audience.by_id = {"a": "a@x.test", "m": "new@x.test"}
    before = len(endpoint.batches())
    second = run(syncs, audience, sync, chunk_size=10)
    assert (second.state, second.removed, second.added, second.total) == ("SUCCEEDED", 2, 1, 2)
    later = endpoint.batches()[before:]
    assert [(row["id"], row["email"]) for row in sent(endpoint, later, "remove")] == \
        [("e", "e@x.test"), ("m", "old@x.test")]
    assert [(row["id"], row["email"]) for row in sent(endpoint, later, "add")] == [("m", "new@x.test")]
    # The removes went in a push before the adds (a destination keyed by id ends holding m).
    assert later[0]["remove"] and not later[0]["add"]
    assert endpoint.members("aud") == {"a", "m"}
    assert held(engine, sync) == {"a": Held("a", "a@x.test"), "m": Held("m", "new@x.test")}

    # Another destination: the next run is a full one there.
    moved = syncs.update(sync.name, SyncInput(remote_object="aud2"), ["remote_object"])
    assert moved.last_success_time is None
    assert run(syncs, audience, moved).state == "SUCCEEDED"
    assert endpoint.batches()[-1]["replace"] and endpoint.members("aud2") == {"a", "m"}


def test_a_cancelled_incremental_run_leaves_a_synced_set_the_next_run_completes(engine, endpoint):
    connections, syncs = services(engine, [new_credential_key()])
    connection = active_connection(connections, endpoint.url, batch_size="1")
    audience = SegmentMembers({"a": "a@x.test", "b": "b@x.test"})
    sync = make_sync(syncs, connection)
    assert run(syncs, audience, sync).state == "SUCCEEDED"

    audience.by_id = {f"p{i}": f"p{i}@x.test" for i in range(6)}  # a and b leave, six join
    queued = syncs.run(sync.name)
    endpoint.on_batch = lambda body: syncs.cancel_run(queued.name) if body["add"] else None
    assert SyncRunner(syncs, audience, "w", RunnerSettings(chunk_size=4)).run_one()
    endpoint.on_batch = None
    assert syncs.get_run(queued.name).state == "CANCELLED"
    # Cut short in its first adds push: the removes it finished are recorded, the adds it started
    # are held unconfirmed (the destination may or may not have them), the rest untouched.
    mid = held(engine, sync)
    assert "a" not in mid and "b" not in mid
    assert {p for p, h in mid.items() if not h.confirmed} == {"p0", "p1"} and all(not h.confirmed for h in mid.values())
    assert endpoint.members("aud") == {"p0"}

    # Meanwhile p0 leaves again: the next run removes it (it may be held), adds the others.
    del audience.by_id["p0"]
    second = run(syncs, audience, sync, chunk_size=4)
    assert second.state == "SUCCEEDED"
    assert endpoint.members("aud") == {f"p{i}" for i in range(1, 6)}
    assert held(engine, sync) == {f"p{i}": Held(f"p{i}", f"p{i}@x.test") for i in range(1, 6)}


def test_an_unavailable_destination_retries_and_the_retry_diffs_again(engine, endpoint):
    clock = Clock()
    connections, syncs = services(engine, [new_credential_key()], clock)
    connection = active_connection(connections, endpoint.url, batch_size="10")
    audience = SegmentMembers({"a": "a@x.test"})
    sync = make_sync(syncs, connection)
    assert run(syncs, audience, sync).state == "SUCCEEDED"
    audience.by_id["b"] = "b@x.test"
    endpoint.fail_next(503, count=3)
    failed_once = run(syncs, audience, sync)
    assert (failed_once.state, failed_once.attempts) == ("QUEUED", 1)
    assert "HTTP 503" in failed_once.error_message
    assert held(engine, sync)["b"] == Held("b", "b@x.test", confirmed=False)
    runner = SyncRunner(syncs, audience, "worker-2", RunnerSettings(retry_base=timedelta(0)))
    assert runner.run_one()
    done = syncs.get_run(failed_once.name)
    assert (done.state, done.added) == ("SUCCEEDED", 1)
    assert endpoint.members("aud") == {"a", "b"}
    assert held(engine, sync)["b"] == Held("b", "b@x.test")


def test_segment_updated_marks_the_syncs_and_a_scheduled_run_without_a_mark_is_skipped(engine, endpoint):
    clock = Clock()
    connections, syncs = services(engine, [new_credential_key()], clock)
    connection = active_connection(connections, endpoint.url)
    sync = syncs.update(make_sync(syncs, connection).name, SyncInput(schedule="every 15m"), ["schedule"])
    other = make_sync(syncs, connection, segment="other")
    store = SqlSyncStore(engine)
    assert segment_updated(engine) == 1 and store.change_mark("acme", sync.id)
    assert segment_updated(engine, ws="elsewhere") == 0, "scoped by workspace"
    assert store.change_mark("acme", other.id) is None
    audience = SegmentMembers({"a": "a@x.test"})
    runner = SyncRunner(syncs, audience, "w", RunnerSettings())

    def scheduled_round():
        clock.now += timedelta(minutes=15)
        queued = syncs.schedule_due()
        while runner.run_one():
            pass
        return queued

    assert scheduled_round() == 1  # the first run (full)
    assert endpoint.members("aud") == {"a"}
    assert scheduled_round() == 1, "after a run that sent something, the next one looks again"
    assert store.change_mark("acme", sync.id) is None, "a run that found nothing to send clears the mark"
    assert scheduled_round() == 0, "nothing changed: skipped"

    audience.by_id["b"] = "b@x.test"
    segment_updated(engine)
    assert scheduled_round() == 1
    assert endpoint.members("aud") == {"a", "b"}
    # A manual run always runs (and finds the set in step).
    assert run(syncs, audience, sync).total == 0
    assert scheduled_round() == 0


def test_a_run_left_running_by_a_dead_worker_is_taken_over_after_its_lease(engine, endpoint):
    clock = Clock()
    connections, syncs = services(engine, [new_credential_key()], clock)
    connection = active_connection(connections, endpoint.url)
    audience = SegmentMembers({"a": "a@x.test"})
    sync = make_sync(syncs, connection)
    queued = syncs.run(sync.name)
    store = SqlSyncStore(engine)
    claimed = store.claim(clock(), "dead-worker", clock() + timedelta(seconds=60))
    assert claimed.id == queued.id and claimed.state == "RUNNING"
    survivor = SyncRunner(syncs, audience, "worker-after-restart", RunnerSettings())
    assert not survivor.run_one(), "the lease still holds"
    clock.now += timedelta(seconds=61)
    assert survivor.run_one()
    assert syncs.get_run(queued.name).state == "SUCCEEDED"
    assert endpoint.members("aud") == {"a"}
    # The dead worker's late report changes nothing.
    assert not store.progress(claimed, "dead-worker", clock.now)


def test_runs_are_cancelled_and_paused_syncs_refuse_runs(engine, endpoint):
    connections, syncs = services(engine, [new_credential_key()])
    connection = active_connection(connections, endpoint.url, batch_size="1")
    sync = make_sync(syncs, connection)
    queued = syncs.run(sync.name)
    with pytest.raises(FailedPrecondition):
        syncs.run(sync.name)  # one run at a time
    assert syncs.cancel_run(queued.name).state == "CANCELLED"

    # Cancelled while running: the connector stops between batches.
    audience = SegmentMembers({f"p{i}": f"p{i}@x.test" for i in range(5)})
    running = syncs.run(sync.name, request_id="r-1")
    assert syncs.run(sync.name, request_id="r-1").id == running.id  # a retried RunSync: the same run

    # Someone cancels the run while the endpoint takes its first batch.
    endpoint.on_batch = lambda body: syncs.cancel_run(running.name)
    runner = SyncRunner(syncs, audience, "w", RunnerSettings())
    assert runner.run_one()
    ended = syncs.get_run(running.name)
    assert ended.state == "CANCELLED"
    assert len(endpoint.batches()) < 5

    assert syncs.pause(sync.name).state == "PAUSED"
    with pytest.raises(FailedPrecondition):
        syncs.run(sync.name)
    with pytest.raises(InvalidArgument):
        syncs.update(sync.name, SyncInput(schedule="daily"), ["schedule"])
    resumed = syncs.resume(sync.name)
    assert resumed.state == "ACTIVE" and resumed.next_run_time is None
    scheduled = syncs.update(sync.name, SyncInput(schedule="every 15m"), ["schedule"])
    assert scheduled.next_run_time is not None

    # Disabling the connection cancels its queued runs and refuses new ones until it is enabled
    # (which checks it again).
    queued = syncs.run(sync.name)
    assert connections.disable(connection.name).state == "DISABLED"
    assert syncs.get_run(queued.name).state == "CANCELLED"
    with pytest.raises(FailedPrecondition):
        syncs.run(sync.name)
    assert connections.enable(connection.name).state == "ACTIVE"
    assert [r.id for r in syncs.list_runs("workspaces/acme/connections/-/syncs/-", None, 50)][0] == queued.id
    assert [s.id for s in syncs.list("workspaces/acme/connections/-", None, 50)] == [sync.id]

    # Deleting the connection deletes its syncs and their runs.
    connections.delete(connection.name)
    with pytest.raises(NotFound):
        syncs.get(sync.name)
    assert syncs.list_runs("workspaces/acme/connections/-/syncs/-", None, 50) == []


def test_mkt_connections_rotate_keys_re_encrypts_every_credential(engine, endpoint, tmp_path, capsys):
    from svc_integrations.entrypoints.connections_cli import rotate_keys
    from svc_kit.config import load_settings
    from svc_kit.services import BY_NAME

    old, new = new_credential_key(), new_credential_key()
    connections, _ = services(engine, [old])
    created = http_connection(connections, endpoint.url)
    env = {"MKT_STATE_DIR": str(tmp_path), "MKT_INTEGRATIONS_CREDENTIAL_KEYS": f"{new},{old}",
           "MKT_INTEGRATIONS_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    assert rotate_keys(load_settings(BY_NAME["integrations"], env)) == 0
    assert "re-encrypted 1 " in capsys.readouterr().out
    assert services(engine, [new])[0].test(created.name).state == "ACTIVE"


def test_the_migrations_make_the_schema_the_tables_declare(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from svc_integrations.adapters.tables import metadata

    with engine.connect() as db:
        assert compare_metadata(MigrationContext.configure(db), metadata) == []


def test_a_scheduled_sync_gets_a_run_when_its_time_comes_and_not_while_paused(engine, endpoint):
    clock = Clock()
    connections, syncs = services(engine, [new_credential_key()], clock)
    connection = active_connection(connections, endpoint.url)
    sync = syncs.update(make_sync(syncs, connection).name, SyncInput(schedule="every 15m"), ["schedule"])
    assert sync.next_run_time == clock.now + timedelta(minutes=15)
    assert syncs.schedule_due() == 0
    clock.now += timedelta(minutes=15)
    assert syncs.schedule_due() == 1
    assert syncs.schedule_due() == 0, "queued once"
    (queued,) = syncs.list_runs(sync.name, None, 10)
    assert (queued.state, queued.trigger) == ("QUEUED", "SCHEDULE")
    assert syncs.get(sync.name).next_run_time == clock.now + timedelta(minutes=15)
    assert SyncRunner(syncs, SegmentMembers({"a": "a@x.test"}), "w").run_one()
    assert endpoint.members("aud") == {"a"}

    syncs.pause(sync.name)
    clock.now += timedelta(hours=1)
    assert syncs.schedule_due() == 0
    resumed = syncs.resume(sync.name)
    assert resumed.next_run_time == clock.now + timedelta(minutes=15)
