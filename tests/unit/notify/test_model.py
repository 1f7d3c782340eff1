"""The message state machine, validation of messages, providers and sending
rules, provider callbacks, and the email bytes the notify service builds."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, time, timedelta

import pytest

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, FailedPrecondition, InvalidArgument, Unimplemented
from svc_notify.adapters import mime
from svc_notify.domain.model import (BounceType, Category, EmailContent, Message, SmsContent, State,
                                     TemplateSource)
from svc_notify.domain.pacing import FrequencyCap, QuietHours
from svc_notify.domain.providers import DomainRateLimit, Provider, RateLimit, SmtpConfig, TwilioConfig
from svc_notify.domain.settings import NotifySettings
from svc_notify.domain.validation import message_violations
from svc_notify.service_layer import callbacks

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
EMAIL = EmailContent(subject="Hello", text="Hi Ann", html="<p>Hi Ann</p>")


def message(**fields) -> Message:
    return Message.accept("acme", "m1", fields.pop("channel", Channel.EMAIL), "u-1", "k-1", NOW,
                          content=fields.pop("content", EMAIL), **fields)


# -- state machine -------------------------------------------------------------------------------------


def test_a_message_is_queued_or_deferred_until_its_send_time():
    assert message().state is State.QUEUED and message().due_time == NOW
    later = message(send_time=NOW + timedelta(hours=1))
    assert later.state is State.DEFERRED and later.next_attempt_time == NOW + timedelta(hours=1)
    assert "requested send time" in later.state_reason


def test_the_happy_path_claim_send_deliver_bounce():
    m = message()
    m.claim("token", NOW + timedelta(minutes=2), NOW)
    assert m.state is State.SENDING and m.lease == "token" and m.next_attempt_time is None
    m.mark_sent("smtp", "<id>", NOW)
    assert (m.state, m.sent_time, m.due_time, m.lease) == (State.SENT, NOW, None, "")
    m.mark_delivered(NOW)
    assert m.state is State.DELIVERED and m.final
    m.mark_bounced("hard bounce: 550", NOW)  # a late bounce after acceptance
    assert m.state is State.BOUNCED and m.version == 5


def test_defer_retry_and_a_claim_of_an_expired_lease():
    m = message()
    m.claim("a", NOW + timedelta(minutes=2), NOW)
    m.defer(NOW + timedelta(seconds=30), "transient", NOW)
    assert m.state is State.DEFERRED and m.next_attempt_time == NOW + timedelta(seconds=30)
    m.claim("b", NOW + timedelta(minutes=2), NOW + timedelta(seconds=30))
    with pytest.raises(FailedPrecondition, match="another dispatcher"):
        m.claim("c", NOW + timedelta(minutes=5), NOW + timedelta(minutes=1))  # the lease still holds
    m.claim("c", NOW + timedelta(minutes=5), NOW + timedelta(minutes=3))  # expired: taken over
    assert m.lease == "c" and m.state is State.SENDING


@pytest.mark.parametrize("move", ["mark_sent", "fail", "suppress", "defer"])
def test_outcomes_need_a_claim(move):
    m = message()
    args = {"mark_sent": ("p", "id", NOW), "fail": ("x", NOW), "suppress": ("x", NOW),
            "defer": (NOW, "x", NOW)}[move]
    if move == "defer":
        m.defer(*args)  # QUEUED -> DEFERRED is allowed (pacing before a claim)
        return
    with pytest.raises(FailedPrecondition, match="QUEUED"):
        getattr(m, move)(*args)


def test_cancel_only_while_waiting_and_with_the_current_etag():
    m = message()
    with pytest.raises(Aborted):
        m.check_etag("stale")
    m.check_etag(m.etag)
    m.cancel(NOW)
    assert m.state is State.CANCELLED and m.due_time is None
    sent = message()
    sent.claim("t", NOW, NOW)
    sent.mark_sent("p", "i", NOW)
    with pytest.raises(FailedPrecondition, match="only QUEUED or DEFERRED"):
        sent.cancel(NOW)


# -- validation ----------------------------------------------------------------------------------------


def fields_of(problems) -> set[str]:
    return {p.field for p in problems}


def test_message_validation_names_each_field():
    bad = Message("acme", "", Channel.SMS, "", "", content=EMAIL, campaign="workspaces/other/campaigns/c",
                  labels={"Bad": "x"})
    assert fields_of(message_violations(bad)) == {
        "message.recipient", "message.idempotency_key", "message.content", "message.campaign", "message.labels.Bad"}
    template = Message("acme", "", Channel.EMAIL, "u-1", "k", template=TemplateSource("workspaces/acme/templates/t"))
    assert message_violations(template) == []
    other = Message("acme", "", Channel.EMAIL, "u-1", "k", template=TemplateSource("workspaces/zz/templates/t"))
    assert fields_of(message_violations(other)) == {"message.template.template"}
    neither = Message("acme", "", Channel.EMAIL, "u-1", "k")
    assert fields_of(message_violations(neither)) == {"message.source"}
    no_subject = Message("acme", "", Channel.EMAIL, "u-1", "k", content=EmailContent(text="x", headers=(("To", "x"),)))
    assert fields_of(message_violations(no_subject)) == {"message.content.email.subject",
                                                         "message.content.email.headers[0].name"}
    assert fields_of(message_violations(Message("acme", "", Channel.SMS, "u-1", "k", content=SmsContent("")))) == {
        "message.content.sms.body"}


def test_provider_validation():
    smtp = Provider("acme", "p", "Relay", Channel.EMAIL, SmtpConfig("smtp.example.com", 587,
                                                                    from_address="news@example.com"))
    assert smtp.violations() == []
    wrong = Provider("acme", "p", "", Channel.SMS, SmtpConfig("", 0, security="?", username="u"),
                     rate_limit=RateLimit(-1), domain_rate_limits=(DomainRateLimit("Gmail.com", RateLimit(1)),))
    assert fields_of(wrong.violations()) == {
        "provider.display_name", "provider.smtp", "provider.smtp.host", "provider.smtp.port", "provider.smtp.security",
        "provider.smtp.from_address", "provider.smtp.password_secret", "provider.rate_limit.messages_per_second",
        "provider.domain_rate_limits[0].domain"}
    twilio = Provider("acme", "p", "SMS", Channel.SMS, TwilioConfig(account_sid="AC1", auth_token_secret="bad name!"))
    assert fields_of(twilio.violations()) == {"provider.twilio.auth_token_secret", "provider.twilio.from_number"}
    assert twilio.secrets() == ("bad name!",)


def test_settings_validation():
    good = NotifySettings("acme", (QuietHours(time(21), time(8), frozenset({1, 7})),),
                          (FrequencyCap(3, timedelta(days=7)),), "Europe/Paris")
    assert good.violations() == []
    bad = NotifySettings("acme", (QuietHours(time(9), time(9)),), (FrequencyCap(0, timedelta(0)),), "Mars/Base")
    assert fields_of(bad.violations()) == {"notify_settings.quiet_hours[0].end_time",
                                           "notify_settings.default_time_zone"}
    assert good.zone_for("").key == "Europe/Paris" and good.zone_for("Asia/Tokyo").key == "Asia/Tokyo"
    assert NotifySettings("acme").zone_for("nowhere").key == "UTC"


def test_settings_one_field_rules_are_in_the_proto():
    from marketing.notify.v1 import notify_service_pb2, notify_settings_pb2 as pb
    from svc_kit.validation import violations_of

    def fields(**settings):
        request = notify_service_pb2.UpdateNotifySettingsRequest(notify_settings=pb.NotifySettings(**settings))
        return [v.field for v in violations_of(request)]

    day, year = {"seconds": 86400}, {"seconds": 366 * 86400}
    assert fields(frequency_caps=[pb.FrequencyCap(max_messages=1, period=day),
                                  pb.FrequencyCap(max_messages=5, period=year)]) == []
    assert fields(frequency_caps=[pb.FrequencyCap(max_messages=0, period=day),
                                  pb.FrequencyCap(max_messages=1),
                                  pb.FrequencyCap(max_messages=1, period={"seconds": 0}),
                                  pb.FrequencyCap(max_messages=1, period={"seconds": 366 * 86400 + 1})]) == [
        "notify_settings.frequency_caps[0].max_messages", "notify_settings.frequency_caps[1].period",
        "notify_settings.frequency_caps[2].period", "notify_settings.frequency_caps[3].period"]
    assert fields(quiet_hours=[pb.QuietHours()] * 21) == ["notify_settings.quiet_hours"]
    assert fields(frequency_caps=[pb.FrequencyCap(max_messages=1, period=day)] * 21) == [
        "notify_settings.frequency_caps"]


# -- callbacks -----------------------------------------------------------------------------------------


def test_json_callbacks():
    reports, _ = callbacks.parse("smtp", "application/json", b'{"events": [{"message": "workspaces/a/messages/m",'
                                                             b' "type": "bounced", "bounce_type": "soft",'
                                                             b' "detail": "452 mailbox full"},'
                                                             b' {"provider_message_id": "x", "type": "delivered"}]}')
    assert reports == [callbacks.Report("workspaces/a/messages/m", "bounced", BounceType.SOFT, "452 mailbox full"),
                       callbacks.Report("x", "delivered")]
    for body in (b"nope", b'{"events": []}', b'{"type": "opened", "message": "m"}', b'{"type": "delivered"}'):
        with pytest.raises(InvalidArgument):
            callbacks.parse("smtp", "application/json", body)
    with pytest.raises(Unimplemented):
        callbacks.parse("smtp", "application/x-www-form-urlencoded", b"a=b")


def test_twilio_callbacks_map_statuses_and_error_codes():
    def one(body: bytes):
        reports, _ = callbacks.parse("twilio", "application/x-www-form-urlencoded", body)
        return reports

    assert one(b"MessageSid=SM1&MessageStatus=delivered") == [callbacks.Report("SM1", "delivered", None,
                                                                               "MessageStatus=delivered")]
    assert one(b"MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30005")[0].bounce_type is BounceType.HARD
    assert one(b"MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003")[0].bounce_type is BounceType.SOFT
    assert one(b"MessageSid=SM1&MessageStatus=failed&ErrorCode=21610")[0].status == "complained"
    assert one(b"MessageSid=SM1&MessageStatus=sent") == []


def test_callback_signatures_every_provider_signs_within_the_tolerance():
    from svc_kit.signing import Keyring, callback_signature

    name, now = "workspaces/a/providers/p", datetime(2026, 3, 1, 12, tzinfo=UTC)
    body = b'{"type": "delivered", "message": "m"}'
    good = callback_signature("s3cret", name, body, now.timestamp())
    callbacks.verify(name, Keyring(b"s3cret"), {"x-notify-signature": good}, body, now)
    with pytest.raises(FailedPrecondition, match="no secret"):  # no secret: refused, not waved through
        callbacks.verify(name, None, {"x-notify-signature": good}, body, now)
    with pytest.raises(InvalidArgument, match="unsigned") as caught:
        callbacks.verify(name, Keyring(b"s3cret"), {}, body, now)
    assert caught.value.violations[0].field == "x-notify-signature"
    with pytest.raises(InvalidArgument, match="malformed"):
        callbacks.verify(name, Keyring(b"s3cret"), {"x-notify-signature": "sha256=00"}, body, now)
    with pytest.raises(InvalidArgument, match="bad signature"):
        callbacks.verify(name, Keyring(b"s3cret"), {"x-notify-signature": good}, body + b" ", now)
    with pytest.raises(InvalidArgument, match="stale"):
        callbacks.verify(name, Keyring(b"s3cret"), {"x-notify-signature": good}, body, now + timedelta(minutes=6))
    callbacks.verify(name, Keyring(b"s3cret"), {"x-notify-signature": good}, body, now + timedelta(minutes=6),
                     timedelta(minutes=10))


# -- email bytes ---------------------------------------------------------------------------------------


def test_emails_are_well_formed_with_a_deterministic_message_id():
    content = EmailContent(subject="Héllo Ann", preheader="Twenty percent off", html="<html><body><p>Hi</p></body></html>",
                           text="Hi", from_name="Café Team", reply_to="help@example.com",
                           headers=(("List-Unsubscribe", "<https://x.example/u>"),))
    msg_id = mime.message_id("m1", "acme", "news@example.com")
    assert msg_id == "<m1.acme@example.com>" == mime.message_id("m1", "acme", "news@example.com")
    raw = mime.build(content, "news@example.com", content.from_name, "ann@example.com", msg_id, NOW,
                     (("X-Notify-Message", "workspaces/acme/messages/m1"),))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Héllo Ann" and parsed["Message-ID"] == msg_id
    assert str(parsed["From"]) == "Café Team <news@example.com>" and parsed["To"] == "ann@example.com"
    assert parsed["List-Unsubscribe"] == "<https://x.example/u>" and parsed["Reply-To"] == "help@example.com"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hi"
    html = parsed.get_body(("html",)).get_content()
    assert "Twenty percent off" in html and html.index("Twenty") > html.index("<body>")
    assert all(line.endswith(b"\r") or not line for line in raw.split(b"\n")[:-1])
    only_text = mime.build(EmailContent(subject="s", text="t"), "a@b.example", "", "c@d.example", "<x@b.example>", NOW)
    assert email.message_from_bytes(only_text, policy=email.policy.default).get_content().strip() == "t"


def test_categories_are_marketing_by_default():
    assert message().category is Category.MARKETING
