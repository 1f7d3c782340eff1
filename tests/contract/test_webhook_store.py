"""Webhooks and their deliveries in the integrations database (SQLite and PostgreSQL, migrated
with Alembic): secrets encrypted at rest, workspace scoping, the consumer's idempotent inserts,
leased claims (two replicas never take the same delivery), disabling with dead letters, replay;
and the delivery worker against real local receivers: retries after a 500, and one hanging
endpoint never delays another's deliveries."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from standardwebhooks.webhooks import Webhook as Verifier

from devstack.platforms.webhook_receiver import WebhookReceiver
from svc_integrations import migrate
from svc_integrations.adapters.guarded_http import SocketResolver
from svc_integrations.adapters.webhook_http import HttpxSender
from svc_integrations.adapters.webhook_metrics import WebhookMetrics
from svc_integrations.adapters.webhook_secrets import FernetSecretBox
from svc_integrations.adapters.webhook_store import SqlWebhookStore, insert_deliveries, subscribed_webhooks
from svc_integrations.domain import webhooks as wh
from svc_integrations.entrypoints.webhook_consumer import deliveries_for
from svc_integrations.service_layer.webhook_delivery import DeliveryWorker
from svc_integrations.service_layer.webhooks import WebhookChange, Webhooks
from svc_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from svc_kit.ids import new_id
from svc_kit.metrics import ServiceMetrics
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


class RealClock:
    def __call__(self):
        return datetime.now(UTC)


@pytest.fixture
def store(engine):
    return SqlWebhookStore(engine, FernetSecretBox([Fernet.generate_key().decode()]))


def _create(hooks: Webhooks, workspace: str, uri: str, types=("campaign.*",), **kw) -> wh.Webhook:
    return hooks.create(f"workspaces/{workspace}", WebhookChange(display_name="CRM", uri=uri,
                                                                 event_types=tuple(types)), **kw)


def _event(workspace: str, event_id: str, bus_type: str = "campaign_scheduled") -> wh.PlatformEvent:
    return wh.from_bus({"event_id": event_id, "event_type": bus_type, "workspace": workspace, "aggregate_id": "c1",
                        "occurred_at": 0, "payload": {"from_state": "DRAFT", "to_state": "SCHEDULED"}})


def _enqueue(engine, event: wh.PlatformEvent, now) -> int:
    with engine.begin() as connection:
        return insert_deliveries(connection, deliveries_for(event, subscribed_webhooks(connection, event.workspace),
                                                            new_id, now))


def test_webhooks_are_stored_with_encrypted_secrets_scoped_by_workspace(engine, store):
    clock = Clock()
    hooks = Webhooks(store, SocketResolver(), clock, new_id)
    hook = _create(hooks, "acme", "https://hooks.example.com/in", webhook_id="crm", request_id="r1")
    assert hook.secret.startswith("whsec_") and hook.name == "workspaces/acme/webhooks/crm"
    with engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT secret_ciphertext, previous_secret_ciphertext FROM webhooks").one()
    assert hook.secret not in row[0] and hook.secret[6:] not in row[0] and row[1] == ""
    assert hooks.get("workspaces/acme/webhooks/crm").secret == hook.secret
    assert _create(hooks, "acme", "https://other.example.com", request_id="r1").id == "crm"  # idempotent retry
    with pytest.raises(AlreadyExists):
        _create(hooks, "acme", "https://hooks.example.com/in", webhook_id="crm")
    with pytest.raises(NotFound):
        hooks.get("workspaces/globex/webhooks/crm")
    assert hooks.list("workspaces/globex", None, 10) == []
    assert [h.id for h in hooks.list("workspaces/acme", None, 10)] == ["crm"]
    with pytest.raises(InvalidArgument) as refused:
        _create(hooks, "acme", "http://hooks.example.com/in", types=("campaign.exploded",))
    assert {v.field for v in refused.value.violations} == {"webhook.uri", "webhook.event_types[0]"}

    clock.now += timedelta(minutes=1)
    rotated = hooks.rotate_secret(hook.name, etag=hook.etag, overlap=timedelta(hours=24))
    assert rotated.secret != hook.secret and rotated.previous_secret == hook.secret
    assert hooks.get(hook.name).signing_secrets(clock.now) == [rotated.secret, hook.secret]
    updated = hooks.update(hook.name, WebhookChange(display_name="CRM 2"), ["display_name"], rotated.etag)
    assert updated.display_name == "CRM 2" and updated.uri == hook.uri and updated.secret == rotated.secret
    from svc_kit.errors import Aborted
    with pytest.raises(Aborted):
        hooks.pause(hook.name, etag=hook.etag)
    hooks.delete(hook.name)
    with pytest.raises(NotFound):
        hooks.get(hook.name)


def test_events_become_deliveries_once_and_two_replicas_never_claim_the_same(engine, store):
    clock = Clock()
    hooks = Webhooks(store, SocketResolver(), clock, new_id)
    a = _create(hooks, "acme", "https://a.example.com", types=("campaign.scheduled",))
    b = _create(hooks, "acme", "https://b.example.com", types=("message.*",))
    _create(hooks, "globex", "https://g.example.com", types=("*",))
    assert _enqueue(engine, _event("acme", "e1"), clock.now) == 1
    assert _enqueue(engine, _event("acme", "e1"), clock.now) == 0  # redelivered by the bus: nothing new
    assert _enqueue(engine, _event("acme", "e2", "message_opened"), clock.now) == 1
    assert [d.event_id for d in hooks.list_deliveries(a.name, None, 10)] == ["e1"]
    assert [d.event_id for d in hooks.list_deliveries(b.name, None, 10)] == ["e2"]
    assert store.list_deliveries("globex", a.id, None, 10) == []

    for i in range(5):
        _enqueue(engine, _event("acme", f"more-{i}"), clock.now)
    assert set(store.due_webhooks(clock.now, 10)) == {("acme", a.id), ("acme", b.id)}
    lease = clock.now + timedelta(minutes=1)
    first = store.claim("acme", a.id, clock.now, "replica-1", lease, 4)
    second = store.claim("acme", a.id, clock.now, "replica-2", lease, 4)
    assert len(first) == 4 and len(second) == 2 and not {d.id for d in first} & {d.id for d in second}
    assert store.claim("acme", a.id, clock.now, "replica-3", lease, 4) == []
    done = wh.after_attempt(first[0], wh.Attempt(200, 5), clock.now, ())
    assert not store.finish(done, "replica-2")  # not its lease
    assert store.finish(done, "replica-1")
    assert hooks.get_delivery(done.name).state == "SUCCEEDED"
    # A lease that expired (its replica died) is claimed again.
    later = lease + timedelta(seconds=1)
    assert len(store.claim("acme", a.id, later, "replica-3", later + timedelta(minutes=1), 10)) == 5

    with pytest.raises(FailedPrecondition):
        hooks.replay(first[1].name)  # still pending
    replayed = hooks.replay(done.name)
    assert replayed.id == done.id and hooks.get_delivery(done.name).state == "PENDING"


def test_a_delivery_that_exhausts_its_retries_disables_the_webhook_and_dead_letters_the_rest(engine, store):
    clock = Clock()
    hooks = Webhooks(store, SocketResolver(), clock, new_id)
    hook = _create(hooks, "acme", "https://a.example.com")
    for i in range(3):
        _enqueue(engine, _event("acme", f"e{i}"), clock.now)
    metrics = ServiceMetrics(service="integrations")
    worker = DeliveryWorker(store, None, SocketResolver(), clock, "w1", schedule=(5,),
                            signals=WebhookMetrics(metrics))
    [delivery] = store.claim("acme", hook.id, clock.now, "w1", clock.now + timedelta(minutes=1), 1)
    after = worker.record(hook, delivery, wh.Attempt(500, 3))
    assert after.state == "PENDING" and hooks.get(hook.name).consecutive_failures == 1
    clock.now = after.next_attempt_time
    claimed = store.claim("acme", hook.id, clock.now, "w1", clock.now + timedelta(minutes=1), 10)
    [again] = [d for d in claimed if d.id == delivery.id]
    for other in claimed:  # the others go back, unattempted
        if other is not again:
            store.finish(other, "w1")
    final = worker.record(hook, again, wh.Attempt(0, 10, "connection refused"))
    assert final.state == "FAILED"
    disabled = hooks.get(hook.name)
    assert disabled.state == "FAILING" and "connection refused" in disabled.state_message
    samples = {(s.name, s.labels.get("outcome")): s.value for m in metrics.registry.collect() for s in m.samples}
    assert samples[("mkt_webhook_attempts_total", "retrying")] == 1
    assert samples[("mkt_webhook_attempts_total", "failed")] == 1
    assert samples[("mkt_webhooks_disabled_total", None)] == 1
    states = {d.event_id: (d.state, d.error) for d in hooks.list_deliveries(hook.name, None, 10)}
    assert all(state == "FAILED" for state, _ in states.values())
    assert sum("dead-lettered" in error for _, error in states.values()) == 2
    assert store.due_webhooks(clock.now, 10) == []
    # While FAILING, new events are dead-lettered at once; after resume, a replay is delivered again.
    _enqueue(engine, _event("acme", "e9"), clock.now)
    assert hooks.list_deliveries(hook.name, None, 1)[0].state == "FAILED"
    hooks.resume(hook.name)
    hooks.replay(final.name)
    assert store.due_webhooks(clock.now, 10) == [("acme", hook.id)]


def test_paused_webhooks_keep_events_three_days_and_the_log_is_pruned_after_thirty(engine, store):
    clock = Clock()
    hooks = Webhooks(store, SocketResolver(), clock, new_id)
    paused = _create(hooks, "acme", "https://a.example.com")
    hooks.pause(paused.name)
    active = _create(hooks, "acme", "https://b.example.com")
    _enqueue(engine, _event("acme", "old"), clock.now)
    worker = DeliveryWorker(store, None, SocketResolver(), clock, "w1")
    clock.now += timedelta(days=2)
    assert worker.upkeep() == (0, 0)
    _enqueue(engine, _event("acme", "new"), clock.now)
    clock.now += timedelta(days=1, hours=1)
    assert worker.upkeep() == (1, 0)
    states = {d.event_id: d.state for d in hooks.list_deliveries(paused.name, None, 10)}
    assert states == {"old": "FAILED", "new": "PENDING"}
    assert {d.state for d in hooks.list_deliveries(active.name, None, 10)} == {"PENDING"}  # active: untouched
    clock.now += timedelta(days=31)
    assert worker.upkeep() == (1, 1)  # "new" expires; "old" (finished 31 days ago) is pruned
    assert [d.event_id for d in hooks.list_deliveries(paused.name, None, 10)] == ["new"]


def _run_worker(worker: DeliveryWorker, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=lambda: asyncio.run(worker.run(stop)), daemon=True)
    thread.start()
    return thread


def test_the_worker_signs_retries_and_never_lets_a_hanging_endpoint_delay_another(engine, store):
    hooks = Webhooks(store, SocketResolver(), RealClock(), new_id)
    with WebhookReceiver() as receiver:
        slow = _create(hooks, "acme", receiver.url("/slow"))
        fast = _create(hooks, "acme", receiver.url("/fast"))
        gate = receiver.hang("/slow")
        receiver.respond("/fast", 500)
        worker = DeliveryWorker(store, HttpxSender(timeout=60), SocketResolver(), RealClock(), "w1",
                                schedule=(0.2, 0.2), timeout=60, per_endpoint=2, poll_seconds=0.05)
        for i in range(6):  # the slow endpoint's backlog comes first in the queue
            _enqueue(engine, _event("acme", f"e{i}"), datetime.now(UTC))
        stop = threading.Event()
        thread = _run_worker(worker, stop)
        try:
            receiver.wait_for("/slow", 2)  # both of its slots are taken, hanging
            arrived = receiver.wait_for("/fast", 7)  # 6 events, the first answered 500 and retried
            assert len(receiver.received("/slow")) == 2 and not gate.is_set()
            ids = [r.headers["webhook-id"] for r in arrived]
            assert len(set(ids)) == 6 and len(ids) == 7  # the retry carries the same webhook-id
            for request in arrived:
                assert Verifier(fast.secret).verify(request.body, request.headers)["type"] == "campaign.scheduled"
        finally:
            gate.set()
            receiver.wait_for("/slow", 6)
            stop.set()
            thread.join(30)
    log = hooks.list_deliveries(fast.name, None, 10)
    assert {d.state for d in log} == {"SUCCEEDED"} and sorted(d.attempt_count for d in log) == [1] * 5 + [2]
    assert any(d.response_code == 200 and d.attempt_count == 2 for d in log)
    assert hooks.get(slow.name).state == "ACTIVE"


def test_in_production_the_client_itself_refuses_to_connect_to_a_private_address():
    """The connect-time guard (DNS rebinding): even a URL that passed its checks is not called
    when its host resolves to a loopback address at connect time."""
    with WebhookReceiver() as receiver:
        async def both():
            guarded = await HttpxSender(5, mode="production").send(receiver.url("/in"), {}, b"{}")
            open_ = await HttpxSender(5, mode="development").send(receiver.url("/in"), {}, b"{}")
            return guarded, open_
        guarded, open_ = asyncio.run(both())
        assert guarded.response_code == 0 and "loopback" in guarded.error and not guarded.ok
        assert open_.ok and open_.response_code == 200
        assert len(receiver.received("/in")) == 1


def test_an_event_for_a_named_webhook_is_queued_once_per_key_signed_and_refused_when_disabled_or_gone(engine,
                                                                                                    store):
    """DeliverWebhookEvent (a journey's call_webhook step): the webhook's event_types do not filter; the same
    key queues nothing new; the worker delivers it signed like any event; PAUSED keeps it, FAILING refuses."""
    hooks = Webhooks(store, SocketResolver(), RealClock(), new_id)
    data = {"journey": "workspaces/acme/journeys/cart", "version": 2, "entry": "e1", "step": "tell-crm",
            "profile": "workspaces/acme/profiles/p"}
    key = "journeys/cart/entries/e1/steps/tell-crm"
    with WebhookReceiver() as receiver:
        hook = _create(hooks, "acme", receiver.url("/crm"), types=("message.*",))
        checked = hooks.deliver_event(hook.name, "journey.step", {}, "publish-check", validate_only=True)
        assert checked.webhook_id == hook.id and hooks.list_deliveries(hook.name, None, 10) == []
        first = hooks.deliver_event(hook.name, "journey.step", data, key)
        again = hooks.deliver_event(hook.name, "journey.step", data, key)
        assert again.id == first.id and len(first.event_id) <= 64
        assert [d.id for d in hooks.list_deliveries(hook.name, None, 10)] == [first.id]
        worker = DeliveryWorker(store, HttpxSender(timeout=10), SocketResolver(), RealClock(), "w1",
                                poll_seconds=0.05)
        stop = threading.Event()
        thread = _run_worker(worker, stop)
        try:
            [request] = receiver.wait_for("/crm", 1)
        finally:
            stop.set()
            thread.join(30)
        event = Verifier(hook.secret).verify(request.body, request.headers)
        assert event["type"] == "journey.step" and event["data"] == {**data, "workspace": "workspaces/acme"}
        assert request.headers["webhook-id"] == first.id
        assert hooks.get_delivery(first.name).state == "SUCCEEDED"
        assert hooks.deliver_event(hook.name, "journey.step", data, key).state == "SUCCEEDED"  # still once

    paused = hooks.pause(hook.name)
    kept = hooks.deliver_event(hook.name, "journey.step", data, "another-key")
    assert kept.state == "PENDING" and paused.state == "PAUSED"
    hooks.resume(hook.name)
    store.disable("acme", hook.id, "deliveries failed for a day", datetime.now(UTC))  # as the worker does
    assert hooks.get(hook.name).state == "FAILING"
    with pytest.raises(FailedPrecondition) as refused:
        hooks.deliver_event(hook.name, "journey.step", data, "a-third-key")
    assert "disabled" in str(refused.value)
    with pytest.raises(FailedPrecondition):
        hooks.deliver_event(hook.name, "journey.step", {}, "publish-check", validate_only=True)
    hooks.delete(hook.name)
    with pytest.raises(NotFound):
        hooks.deliver_event(hook.name, "journey.step", data, key)
    with pytest.raises(NotFound):
        hooks.deliver_event("workspaces/globex/webhooks/" + hook.id, "journey.step", data, key)
