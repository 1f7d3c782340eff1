"""The provider adapters against real local servers: SMTP (aiosmtplib) against
the devstack SMTP sink (aiosmtpd), the Twilio-style and FCM v1-style HTTP APIs
(httpx) against the devstack provider sink, including 429 with Retry-After,
5xx and 4xx answers."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import UTC, datetime

import httpx
import pytest

from devstack.servers.provider_sink import ProviderSinkProcess
from devstack.servers.smtp_sink import SmtpSinkProcess
from svc_notify.adapters import mime
from svc_notify.adapters.http_senders import FcmSender, TwilioSender
from svc_notify.adapters.smtp_sender import SmtpSender
from svc_notify.domain.model import EmailContent
from svc_notify.domain.providers import FcmConfig, SmtpConfig, TwilioConfig
from svc_notify.service_layer.ports import ConfigurationError

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def smtp_sink(tmp_path_factory):
    with SmtpSinkProcess(tmp_path_factory.mktemp("smtp") / "messages.jsonl") as sink:
        yield sink


@pytest.fixture(scope="module")
def provider_sink(tmp_path_factory):
    with ProviderSinkProcess(tmp_path_factory.mktemp("providers") / "requests.jsonl") as sink:
        yield sink


def smtp_sender(sink: SmtpSinkProcess, connections: int = 2) -> SmtpSender:
    host, port = sink.address.split(":")
    return SmtpSender(SmtpConfig(host, int(port), "NONE", from_address="news@example.com",
                                 max_connections=connections), None, timeout=10)


def raw_email(to: str, n: int) -> tuple[bytes, str]:
    msg_id = mime.message_id(f"m{n}", "acme", "news@example.com")
    return mime.build(EmailContent(subject=f"Hello {n}", text="Hi", html="<p>Hi</p>"), "news@example.com", "News",
                      to, msg_id, NOW), msg_id


async def test_smtp_sends_over_pooled_sessions_and_classifies_answers(smtp_sink):
    sender = smtp_sender(smtp_sink)
    try:
        assert (await sender.check()).accepted
        sent = await asyncio.gather(*(sender.send("news@example.com", f"ann{n}@example.com",
                                                  *raw_email(f"ann{n}@example.com", n)) for n in range(10)))
        assert all(o.accepted for o in sent) and sent[0].response.startswith("250")
        assert sent[3].provider_message_id == "<m3.acme@example.com>"
        assert len(sender.idle) <= 2  # at most max_connections sessions, kept for reuse
        data, msg_id = raw_email("tempfail@example.com", 99)
        transient = await sender.send("news@example.com", "tempfail@example.com", data, msg_id)
        assert not transient.accepted and not transient.permanent and transient.response.startswith("451")
        data, msg_id = raw_email("reject-me@example.com", 98)
        refused = await sender.send("news@example.com", "reject-me@example.com", data, msg_id)
        assert refused.permanent and refused.response.startswith("550 5.1.1")
        again = await sender.send("news@example.com", "ann@example.com", *raw_email("ann@example.com", 97))
        assert again.accepted  # the session is usable after refusals
    finally:
        await sender.close()
    stored = {m["message_id"]: m for m in smtp_sink.messages()}
    assert {f"<m{n}.acme@example.com>" for n in range(10)} | {"<m97.acme@example.com>"} <= set(stored)
    assert "<m99.acme@example.com>" not in stored and "<m98.acme@example.com>" not in stored
    parsed = email.message_from_string(stored["<m3.acme@example.com>"]["data"], policy=email.policy.default)
    assert parsed["Subject"] == "Hello 3" and stored["<m3.acme@example.com>"]["rcpt_tos"] == ["ann3@example.com"]


async def test_smtp_unreachable_is_transient():
    sender = SmtpSender(SmtpConfig("127.0.0.1", 1, "NONE", from_address="a@example.com"), None, timeout=2)
    outcome = await sender.send("a@example.com", "b@example.com", b"Subject: x\r\n\r\nx", "<x@example.com>")
    assert not outcome.accepted and not outcome.permanent
    assert not (await sender.check()).accepted


async def test_twilio_style_sms(provider_sink):
    config = TwilioConfig(provider_sink.base_url, "AC123", "sms-token", "+15550001111")
    async with httpx.AsyncClient(timeout=5) as client:
        sender = TwilioSender(config, "tok", client, now=lambda: NOW)
        ok = await sender.send("+33612345678", "Your code is 1234", "workspaces/acme/messages/m1")
        assert ok.accepted and ok.provider_message_id.startswith("SM") and ok.response.startswith("HTTP 201")
        provider_sink.script({"status": 429, "retry_after": 3, "api": "twilio"}, {"status": 503, "api": "twilio"})
        limited = await sender.send("+33612345678", "again", "workspaces/acme/messages/m2")
        assert (limited.accepted, limited.permanent, limited.retry_after) == (False, False, 3.0)
        assert limited.response.startswith("HTTP 429 20429")
        unavailable = await sender.send("+33612345678", "again", "workspaces/acme/messages/m2")
        assert not unavailable.accepted and not unavailable.permanent and unavailable.retry_after is None
        invalid = await sender.send("+15005550001", "x", "workspaces/acme/messages/m3")
        assert invalid.permanent and "21211" in invalid.response
        # The message id travels as the idempotency key: the provider answers a repeat as the first.
        repeat = await sender.send("+33612345678", "Your code is 1234", "workspaces/acme/messages/m1")
        assert repeat.accepted and repeat.provider_message_id == ok.provider_message_id
        with pytest.raises(ConfigurationError, match="sms-token"):
            TwilioSender(config, None, client)
    requests = provider_sink.requests("twilio")
    first = next(r for r in requests if r.get("sid") == ok.provider_message_id)
    assert first["form"] == {"To": "+33612345678", "Body": "Your code is 1234", "From": "+15550001111"}
    assert first["idempotency_key"] == "workspaces/acme/messages/m1"
    assert [r.get("replay", False) for r in requests if r["idempotency_key"] == "workspaces/acme/messages/m1"] == [
        False, True]


async def test_fcm_style_push(provider_sink):
    config = FcmConfig(provider_sink.base_url, "demo-app", "fcm")
    async with httpx.AsyncClient(timeout=5) as client:
        sender = FcmSender(config, '{"access_token": "ya29.token"}', client, now=lambda: NOW)
        ok = await sender.send("device-1", "Sale", "Twenty percent off", {"deep_link": "app://sale"}, "",
                               "workspaces/acme/messages/p1")
        assert ok.accepted and ok.provider_message_id.startswith("projects/demo-app/messages/")
        provider_sink.script({"status": 429, "retry_after": 2, "api": "fcm"}, {"status": 500, "api": "fcm"})
        limited = await sender.send("device-1", "t", "b", {}, "", "workspaces/acme/messages/p2")
        assert limited.retry_after == 2.0 and not limited.permanent and "RESOURCE_EXHAUSTED" in limited.response
        failing = await sender.send("device-1", "t", "b", {}, "", "workspaces/acme/messages/p2")
        assert not failing.accepted and not failing.permanent and failing.response.startswith("HTTP 500")
        gone = await sender.send("unregistered-1", "t", "b", {}, "", "workspaces/acme/messages/p3")
        assert gone.permanent and "UNREGISTERED" in gone.response
        assert (await sender.check()).accepted
    with pytest.raises(ConfigurationError, match="token exchange"):
        FcmSender(config, '{"type": "service_account", "private_key": "..."}', None)
    recorded = next(r for r in provider_sink.requests("fcm") if r.get("name") == ok.provider_message_id)
    assert recorded["json"] == {"message": {"token": "device-1", "notification": {"title": "Sale",
                                                                                  "body": "Twenty percent off"},
                                            "data": {"deep_link": "app://sale"}}}


async def test_http_provider_unreachable_is_transient():
    async with httpx.AsyncClient(timeout=2) as client:
        sender = TwilioSender(TwilioConfig("http://127.0.0.1:1", "AC1", "t", "+15550001111"), "tok", client)
        outcome = await sender.send("+33612345678", "x", "k")
    assert not outcome.accepted and not outcome.permanent and "ConnectError" in outcome.response


async def test_http_providers_receive_the_senders_trace_context(provider_sink):
    """A message's delivery runs in its trace (the dispatcher's DeliveryTracing): the provider's API gets
    the W3C traceparent of that span, for Twilio-style and FCM-style APIs alike."""
    from opentelemetry import trace

    from svc_kit.tracing import configure_tracing

    configure_tracing("notify", None)
    tracer = trace.get_tracer("test")
    async with httpx.AsyncClient(timeout=5) as client:
        sms = TwilioSender(TwilioConfig(provider_sink.base_url, "AC123", "sms-token", "+15550001111"), "tok", client,
                           now=lambda: NOW)
        push = FcmSender(FcmConfig(provider_sink.base_url, "demo-app", "fcm"), '{"access_token": "ya29.token"}',
                         client, now=lambda: NOW)
        with tracer.start_as_current_span("deliver message") as span:
            assert (await sms.send("+33612345678", "traced", "workspaces/acme/messages/t1")).accepted
            assert (await push.send("device-1", "t", "traced", {}, "", "workspaces/acme/messages/t2")).accepted
    trace_id = f"{span.get_span_context().trace_id:032x}"
    for api, key in (("twilio", "workspaces/acme/messages/t1"), ("fcm", "workspaces/acme/messages/t2")):
        recorded = next(r for r in provider_sink.requests(api) if r["idempotency_key"] == key)
        assert recorded.get("traceparent", "").split("-")[1:2] == [trace_id], recorded
