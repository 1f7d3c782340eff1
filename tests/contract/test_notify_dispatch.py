"""The notify dispatcher against real servers: a SQL database (SQLite and
PostgreSQL), the devstack SMTP sink and provider sink. The audience and
content services are stood in for (their gRPC clients are tested against a
real server that answers UNIMPLEMENTED, and against a closed port).

The exactly-once proof: many concurrent SendMessage calls with one key, then
two dispatchers racing over the same messages, and exactly one email per
message arrives at the SMTP sink."""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest
from sqlalchemy import Engine, select

from devstack.servers.provider_sink import ProviderSinkProcess
from devstack.servers.smtp_sink import SmtpSinkProcess
from marketing.content.v1 import content_service_pb2_grpc
from svc_kit.channels import Channel
from svc_kit.clock import utcnow
from svc_kit.db import make_engine
from svc_kit.ids import new_id
from svc_kit.tracing import traced_channel

from svc_notify import migrate
from svc_notify.adapters import event_codec
from svc_notify.adapters.audience_client import GrpcAudience
from svc_notify.adapters.content_client import GrpcContent
from svc_notify.adapters.registry import ProviderRegistry, Secrets
from svc_notify.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_notify.adapters.tables import metadata, outbox
from svc_notify.domain.model import (Category, DeliveryState, EmailContent, InAppContent, Message, PushContent,
                                     SmsContent, State, TemplateSource)
from svc_notify.domain.pacing import FrequencyCap, QuietHours
from svc_notify.domain.providers import Provider, RateLimit, SmtpConfig, TwilioConfig
from svc_notify.domain.settings import NotifySettings
from svc_notify.service_layer import messages
from svc_notify.service_layer.dispatcher import DispatchConfig, Dispatcher
from svc_notify.service_layer.ports import (Audience, ContentRenderer, Reach, Recipient, Rendered, RenderRequest,
                                            Unavailable)
from svc_notify.service_layer.repositories import InboxFilter
from tests.databases import empty_tables, migrated_engine

CONFIG = DispatchConfig(retry_base=0.01, retry_cap=0.05, dependency_retry=0.2, hold_for_rate=0.0, max_attempts=3,
                        flush_seconds=0.01)


class FakeAudience(Audience):
    def __init__(self):
        self.suppressed: dict[str, str] = {}  # external id -> suppression name
        self.down = False
        self.zones: dict[str, str] = {}

    async def recipients(self, workspace, external_ids):
        if self.down:
            raise Unavailable("audience", "UNAVAILABLE", "connection refused")
        return {i: Recipient(i, f"{i}@example.com", "+33612345678", ("device-1",), self.zones.get(i, ""))
                for i in external_ids if not i.startswith("ghost")}

    async def reachability(self, workspace, channel, category, external_ids):
        return {i: Reach(False, "SUPPRESSED", self.suppressed[i]) if i in self.suppressed else Reach(True)
                for i in external_ids}


class FakeContent(ContentRenderer):
    def __init__(self):
        self.calls: list[tuple[str, int]] = []

    async def render(self, template, campaign, variant, requests: list[RenderRequest]):
        self.calls.append((template, len(requests)))
        if template.endswith("/broken"):
            return [Rendered(error="INVALID_ARGUMENT: unknown variable", permanent=True) for _ in requests]
        return [Rendered(EmailContent(subject=f"Rendered for {r.profile.rsplit('/', 1)[1]}", text=str(r.data)),
                         "b", f"{template}/versions/3") for r in requests]


# -- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('dispatch') / 'notify.sqlite3'}"
    migrated_engine(url, migrate.upgrade).dispose()
    return url


@pytest.fixture(scope="module")
def postgres_url(postgres_server) -> str:
    url = postgres_server.create_database(f"contract_notify_dispatch_{os.getpid()}")
    migrated_engine(url, migrate.upgrade).dispose()
    return url


@pytest.fixture(params=["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)])
def database_url(request) -> str:
    url = request.getfixturevalue(request.param)
    empty_tables(make_engine(url), metadata).dispose()
    return url


@pytest.fixture(scope="module")
def smtp_sink(tmp_path_factory) -> Iterator[SmtpSinkProcess]:
    with SmtpSinkProcess(tmp_path_factory.mktemp("smtp") / "messages.jsonl") as sink:
        yield sink


@pytest.fixture(scope="module")
def provider_sink(tmp_path_factory) -> Iterator[ProviderSinkProcess]:
    with ProviderSinkProcess(tmp_path_factory.mktemp("providers") / "requests.jsonl") as sink:
        yield sink


class Harness:
    def __init__(self, url: str, smtp: SmtpSinkProcess, secrets_dir: Path, config: DispatchConfig = CONFIG):
        self.url = url
        self.engine = make_engine(url)
        self.smtp = smtp
        host, port = smtp.address.split(":")
        self.default_smtp = SmtpConfig(host, int(port), "NONE", from_address="news@example.com", max_connections=4)
        self.audience = FakeAudience()
        self.content = FakeContent()
        self.secrets = Secrets({"MKT_SECRET_SMS_TOKEN": "tok", "MKT_SECRET_FCM": "ya29.token"}, secrets_dir)
        self.config = config
        self.workspace = f"w{new_id()[-8:]}"

    def uow(self, engine: Engine | None = None) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine or self.engine)

    def dispatcher(self, engine: Engine | None = None, clock=utcnow, config: DispatchConfig | None = None):
        registry = ProviderRegistry(self.secrets, self.default_smtp, "")
        return Dispatcher(lambda: self.uow(engine), self.audience, self.content, registry, config or self.config,
                          clock=clock)

    def send(self, *drafts: Message):
        results = messages.send_messages(list(drafts), [False] * len(drafts), self.uow(), utcnow, new_id)
        return [r.message for r in results]

    def email(self, recipient: str, key: str, **fields) -> Message:
        return Message(self.workspace, "", Channel.EMAIL, recipient, key, content=fields.pop(
            "content", EmailContent(subject=f"Hello {recipient}", text="Hi")), **fields)

    def get(self, message: Message) -> Message:
        return messages.get_message(self.workspace, message.id, self.uow())

    def deliveries(self, message: Message):
        return messages.list_deliveries(self.workspace, message.id, "", 50, "", self.uow())[0]

    def events(self) -> list[dict]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(outbox).order_by(outbox.c.position)).all()
        return [event_codec.SCHEMA.decode(r.value) for r in rows]

    def received(self, message: Message) -> list[dict]:
        wanted = f"<{message.id}.{self.workspace}@example.com>"
        return [m for m in self.smtp.messages() if m["message_id"] == wanted]

    def add_provider(self, provider: Provider) -> None:
        with self.uow() as uow:
            uow.providers.add(provider)
            uow.commit()

    def set_rules(self, rules: NotifySettings) -> None:
        with self.uow() as uow:
            uow.settings.save(rules, 0)
            uow.commit()


@pytest.fixture
def harness(database_url, smtp_sink, tmp_path) -> Iterator[Harness]:
    h = Harness(database_url, smtp_sink, tmp_path)
    yield h
    h.engine.dispose()


def run(dispatcher: Dispatcher, passes: int = 1) -> int:
    async def go():
        total = 0
        for _ in range(passes):
            total += await dispatcher.run_once()
        await dispatcher.registry.close()
        return total
    return asyncio.run(go())


# -- exactly once --------------------------------------------------------------------------------------


def test_concurrent_duplicates_and_racing_dispatchers_deliver_each_message_once(harness):
    key = "spring/u-dup/EMAIL/1"
    answers: list = []
    barrier = threading.Barrier(16)

    def send_one() -> None:
        barrier.wait()
        answers.extend(messages.send_messages([harness.email("u-dup", key)], [False], harness.uow(), utcnow, new_id))

    threads = [threading.Thread(target=send_one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 16 and len({a.message.id for a in answers}) == 1
    assert sorted(a.duplicate for a in answers) == [False] + [True] * 15
    others = harness.send(*(harness.email(f"u-{i}", f"spring/u-{i}/EMAIL/1") for i in range(40)))
    everything = [answers[0].message, *others]

    # Two dispatchers (each with its own engine, as two processes would have) race over the same messages.
    engines = [make_engine(harness.url) for _ in range(2)]
    claimed: list[int] = []
    start = threading.Barrier(2)

    def dispatch(engine: Engine) -> None:
        dispatcher = harness.dispatcher(engine, config=DispatchConfig(batch_size=10, flush_seconds=0.01))
        start.wait()
        claimed.append(run(dispatcher, passes=8))

    racers = [threading.Thread(target=dispatch, args=(e,)) for e in engines]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    for engine in engines:
        engine.dispose()
    assert sum(claimed) == len(everything) and all(c > 0 for c in claimed), claimed
    counts = Counter(m["message_id"] for m in harness.smtp.messages()
                     if m["message_id"].endswith(f".{harness.workspace}@example.com>"))
    assert len(counts) == len(everything) and set(counts.values()) == {1}, counts
    assert all(harness.get(m).state is State.SENT for m in everything)
    sent = [e for e in harness.events() if e["event_type"] == "message_sent"]
    assert len(sent) == len(everything)
    # A repeated request after delivery still sends nothing.
    again = messages.send_messages([harness.email("u-dup", key)], [False], harness.uow(), utcnow, new_id)
    assert again[0].duplicate and again[0].message.state is State.SENT


def test_a_dispatcher_that_dies_after_the_hand_over_makes_the_message_go_again_with_the_same_id(harness):
    [message] = harness.send(harness.email("u-crash", "crash/1"))
    now = utcnow()
    with harness.uow() as uow:  # a dispatcher claims it and dies before recording anything
        [claimed] = uow.messages.claim_due(now, 10, "dead-dispatcher", now + timedelta(seconds=120))
        uow.commit()
    assert run(harness.dispatcher()) == 0  # the lease holds: nobody else sends it
    later = lambda: utcnow() + timedelta(seconds=121)  # noqa: E731 - the lease has expired by then
    assert run(harness.dispatcher(clock=later)) == 1
    stored = harness.get(message)
    assert stored.state is State.SENT and stored.attempt_count == 1
    copies = harness.received(message)
    assert len(copies) == 1 and copies[0]["message_id"] == f"<{message.id}.{harness.workspace}@example.com>"
    # Had the dead dispatcher's provider accepted it, this would be the second copy, with the same
    # Message-ID, which is what lets a provider or a mailbox drop it (at-least-once at that boundary).


# -- outcomes ------------------------------------------------------------------------------------------


def test_suppressed_recipients_unknown_profiles_and_in_app(harness):
    harness.audience.suppressed["u-sup"] = f"workspaces/{harness.workspace}/suppressions/s1"
    suppressed, ghost, in_app = harness.send(
        harness.email("u-sup", "k1"), harness.email("ghost-1", "k2"),
        Message(harness.workspace, "", Channel.IN_APP, "u-app", "k3", content=InAppContent("Welcome", "Hello *you*"),
                campaign=f"workspaces/{harness.workspace}/campaigns/c1"))
    run(harness.dispatcher())
    stored = harness.get(suppressed)
    assert stored.state is State.SUPPRESSED and stored.state_reason == (
        f"SUPPRESSED: suppressed by workspaces/{harness.workspace}/suppressions/s1")
    assert harness.get(ghost).state_reason.startswith("NOT_FOUND: no profile")
    delivered = harness.get(in_app)
    assert delivered.state is State.DELIVERED and delivered.address == f"workspaces/{harness.workspace}/inboxes/u-app"
    with harness.uow() as uow:
        [item] = uow.inbox.list(harness.workspace, "u-app", InboxFilter(), None, 10, utcnow())
    assert item.content.title == "Welcome" and item.message_id == in_app.id
    kinds = [(e["event_type"], e["payload"].get("reason", "")) for e in harness.events()]
    assert ("message_suppressed", "SUPPRESSED") in kinds and ("message_suppressed", "NOT_FOUND") in kinds
    assert ("message_sent", "") in kinds and ("message_delivered", "") in kinds
    assert harness.received(suppressed) == []


def test_an_unreachable_audience_leaves_messages_deferred_then_they_go(harness):
    harness.audience.down = True
    [message] = harness.send(harness.email("u-1", "k1"))
    run(harness.dispatcher())
    waiting = harness.get(message)
    assert waiting.state is State.DEFERRED
    assert waiting.state_reason == "waiting for the audience service (UNAVAILABLE): connection refused; retrying"
    harness.audience.down = False
    assert run(harness.dispatcher(clock=lambda: utcnow() + timedelta(seconds=1))) == 1
    assert harness.get(message).state is State.SENT and len(harness.received(message)) == 1


def test_templates_are_rendered_by_the_content_service(harness):
    template = f"workspaces/{harness.workspace}/templates/welcome"
    good, broken = harness.send(
        Message(harness.workspace, "", Channel.EMAIL, "u-t", "k1", template=TemplateSource(template, "", {"n": 1})),
        Message(harness.workspace, "", Channel.EMAIL, "u-t", "k2",
                template=TemplateSource(f"workspaces/{harness.workspace}/templates/broken")))
    run(harness.dispatcher())
    sent = harness.get(good)
    assert sent.state is State.SENT and (sent.template_version, sent.variant) == (f"{template}/versions/3", "b")
    assert harness.received(good)[0]["subject"] == "Rendered for u-t"
    failed = harness.get(broken)
    assert failed.state is State.FAILED and "INVALID_ARGUMENT: unknown variable" in failed.state_reason


def test_smtp_4xx_is_retried_with_backoff_then_fails_and_5xx_fails_at_once(harness):
    temp, rejected = harness.send(harness.email("tempfail-1", "k1"), harness.email("reject-1", "k2"))
    dispatcher = harness.dispatcher()
    run(dispatcher)
    first = harness.get(temp)
    assert first.state is State.DEFERRED and first.attempt_count == 1
    assert first.state_reason.startswith("transient provider error (attempt 1 of 3): 451 4.3.0")
    assert first.next_attempt_time <= utcnow() + timedelta(seconds=0.05)  # capped backoff
    hard = harness.get(rejected)
    assert hard.state is State.FAILED and hard.state_reason.startswith("permanent provider error: 550 5.1.1")
    # Each pass runs a second later than the one before, past any backoff (capped at 0.05 s here) whatever
    # the wall clock did meanwhile. (A clock of "wall clock + 1 s" for every pass made a retry due only once
    # real time had caught up with its jitter: a warm process ran all six passes inside one backoff.)
    claims = [run(harness.dispatcher(clock=lambda step=step: utcnow() + timedelta(seconds=step)))
              for step in range(1, 7)]
    assert claims == [1, 1, 0, 0, 0, 0]
    gave_up = harness.get(temp)
    assert gave_up.state is State.FAILED and gave_up.attempt_count == 3
    assert gave_up.state_reason.startswith("gave up after 3 attempts; last answer: 451")
    assert [d.state for d in harness.deliveries(temp)] == [DeliveryState.RETRYABLE_FAILURE] * 3
    assert [d.attempt for d in harness.deliveries(temp)] == [3, 2, 1]
    failed = [e["payload"] for e in harness.events() if e["event_type"] == "message_failed"]
    assert {f["provider_response"][:3] for f in failed} == {"451", "550"}


def test_sms_429_honours_retry_after_then_sends(harness, provider_sink):
    harness.add_provider(Provider(harness.workspace, "sms", "SMS", Channel.SMS, TwilioConfig(
        provider_sink.base_url, "AC1", "sms-token", "+15550001111"), create_time=utcnow(), update_time=utcnow()))
    provider_sink.script({"status": 429, "retry_after": 30, "api": "twilio"})
    [message] = harness.send(Message(harness.workspace, "", Channel.SMS, "u-s", "k1", content=SmsContent("Code 1")))
    before = utcnow()
    run(harness.dispatcher())
    limited = harness.get(message)
    assert limited.state is State.DEFERRED and limited.next_attempt_time >= before + timedelta(seconds=30)
    assert "HTTP 429" in limited.state_reason
    assert run(harness.dispatcher(clock=lambda: utcnow() + timedelta(seconds=31))) == 1
    sent = harness.get(message)
    assert sent.state is State.SENT and sent.provider == "sms" and sent.provider_message_id.startswith("SM")
    assert [d.state for d in harness.deliveries(message)] == [DeliveryState.ACCEPTED, DeliveryState.RETRYABLE_FAILURE]
    keys = [r["idempotency_key"] for r in provider_sink.requests("twilio")]
    assert keys.count(message.name) == 2  # both attempts carried the message's name as the idempotency key


def test_no_provider_for_a_channel_defers_with_the_reason(harness):
    [message] = harness.send(Message(harness.workspace, "", Channel.PUSH, "u-p", "k1", content=PushContent("Hi")))
    run(harness.dispatcher())
    waiting = harness.get(message)
    assert waiting.state is State.DEFERRED and waiting.state_reason.startswith("no enabled provider for CHANNEL_PUSH")


def test_quiet_hours_and_frequency_caps_defer_marketing_but_not_transactional(harness):
    zone = "Asia/Tokyo"
    local_now = datetime.now(UTC).astimezone(ZoneInfo(zone))
    start = (local_now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local_now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    harness.set_rules(NotifySettings(harness.workspace, (QuietHours(start, end),),
                                     (FrequencyCap(1, timedelta(hours=1), Channel.EMAIL),), zone, utcnow(), 1))
    quiet, urgent = harness.send(harness.email("u-q", "k1"),
                                 harness.email("u-q", "k2", category=Category.TRANSACTIONAL))
    run(harness.dispatcher())
    deferred = harness.get(quiet)
    assert deferred.state is State.DEFERRED and deferred.state_reason.startswith("quiet hours until")
    assert zone in deferred.state_reason and deferred.next_attempt_time > utcnow() + timedelta(minutes=50)
    assert harness.get(urgent).state is State.SENT
    # Outside quiet hours the cap (one email an hour) still holds: the transactional one counted.
    with harness.uow() as uow:
        rules = uow.settings.get(harness.workspace)
        rules.quiet_hours, rules.version = (), 2
        uow.settings.save(rules, 1)
        assert uow.messages.replan_deferred(harness.workspace, utcnow()) == 1
        uow.commit()
    run(harness.dispatcher())
    capped = harness.get(quiet)
    assert capped.state is State.DEFERRED and capped.state_reason.startswith("frequency cap of 1 per 1 h on CHANNEL_EMAIL")


def test_a_provider_rate_limit_defers_what_exceeds_it(harness):
    harness.add_provider(Provider(harness.workspace, "slow", "Slow relay", Channel.EMAIL, harness.default_smtp,
                                  rate_limit=RateLimit(1.0, 2), create_time=utcnow(), update_time=utcnow()))
    sent = harness.send(*(harness.email(f"u-r{i}", f"k{i}") for i in range(5)))
    run(harness.dispatcher())
    states = Counter(harness.get(m).state for m in sent)
    assert states == {State.SENT: 2, State.DEFERRED: 3}
    reasons = {harness.get(m).state_reason.split(";")[0] for m in sent if harness.get(m).state is State.DEFERRED}
    assert reasons == {f"the rate limit of workspaces/{harness.workspace}/providers/slow"}


# -- the real gRPC clients -----------------------------------------------------------------------------


async def test_grpc_clients_report_unimplemented_and_unreachable_services():
    server = grpc.aio.server()
    content_service_pb2_grpc.add_ContentServiceServicer_to_server(content_service_pb2_grpc.ContentServiceServicer(),
                                                                  server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        content = GrpcContent(lambda: traced_channel(f"127.0.0.1:{port}"))
        with pytest.raises(Unavailable) as unimplemented:
            await content.render("workspaces/a/templates/t", "", "", [RenderRequest("workspaces/a/profiles/u",
                                                                                    "workspaces/a/messages/m")])
        assert unimplemented.value.code == "UNIMPLEMENTED"
        await content.close()
    finally:
        await server.stop(None)
    audience = GrpcAudience(lambda: traced_channel(f"127.0.0.1:{port}"))
    with pytest.raises(Unavailable) as unreachable:
        await audience.recipients("a", ["u"])
    assert unreachable.value.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
    await audience.close()
