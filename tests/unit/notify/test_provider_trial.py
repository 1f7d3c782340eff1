"""TestProvider's use case against fake senders (the Senders port): a check
without an address, a test message per channel with one, "not usable" when the
provider's sender cannot be built, a stale etag refused, the senders closed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from svc_kit.channels import Channel
from svc_kit.errors import Aborted
from svc_notify.domain.providers import FcmConfig, Provider, SmtpConfig, TwilioConfig
from svc_notify.service_layer.ports import ConfigurationError, OutgoingEmail, Outcome
from svc_notify.service_layer.providers import try_provider

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
SMTP = Provider("acme", "mail", "Mail", Channel.EMAIL, SmtpConfig("smtp.example.com", 587,
                                                                  from_address="news@example.com", from_name="News"))
TWILIO = Provider("acme", "sms", "Texts", Channel.SMS, TwilioConfig(account_sid="AC1", auth_token_secret="tok",
                                                                    from_number="+33612345678"))
FCM = Provider("acme", "push", "Pushes", Channel.PUSH, FcmConfig(project_id="app", service_account_secret="sa"))


class FakeSender:
    def __init__(self):
        self.calls: list[tuple] = []

    async def check(self) -> Outcome:
        self.calls.append(("check",))
        return Outcome(True, response="connected")

    async def send_email(self, email: OutgoingEmail) -> Outcome:
        self.calls.append(("email", email))
        return Outcome(True, provider_message_id="<m@example.com>", response="250 OK")

    async def send(self, *args) -> Outcome:
        self.calls.append(("send", *args))
        return Outcome.refused("HTTP 400 invalid number")


class FakeSenders:
    def __init__(self, broken: bool = False):
        self.broken = broken
        self.built = FakeSender()
        self.closed = False

    def sender(self, provider):
        if self.broken:
            raise ConfigurationError("the secret 'tok' is not set")
        return self.built

    def providers_for(self, workspace, channel, configured):
        return configured

    async def close(self) -> None:
        self.closed = True


async def trial(provider: Provider, address: str = "", etag: str = "", senders: FakeSenders | None = None):
    senders = senders or FakeSenders()
    outcome = await try_provider(provider, etag, address, lambda: senders, lambda: NOW, lambda: "t1")
    return outcome, senders


async def test_without_an_address_only_checks_the_connection():
    outcome, senders = await trial(SMTP)
    assert outcome.accepted and outcome.response == "connected"
    assert senders.built.calls == [("check",)] and senders.closed


async def test_a_test_email_comes_from_the_providers_sender():
    outcome, senders = await trial(SMTP, "ann@example.com", etag=SMTP.etag)
    [(kind, email)] = senders.built.calls
    assert kind == "email" and outcome.provider_message_id == "<m@example.com>"
    assert (email.from_address, email.from_name, email.to, email.message_id, email.workspace, email.date) == (
        "news@example.com", "News", "ann@example.com", "t1", "acme", NOW)
    assert email.content.subject == "Test message from the marketing platform"
    assert email.content.text == "This is a test of provider workspaces/acme/providers/mail."


async def test_a_test_sms_and_push_carry_the_display_name():
    outcome, senders = await trial(TWILIO, "+33699999999")
    assert senders.built.calls == [("send", "+33699999999", "Test message from Texts", "test/t1")]
    assert not outcome.accepted and outcome.permanent and outcome.response == "HTTP 400 invalid number"
    _, senders = await trial(FCM, "device-1")
    assert senders.built.calls == [("send", "device-1", "Test", "Test message from Pushes", {}, "", "test/t1")]


async def test_a_provider_that_cannot_be_built_is_not_usable():
    outcome, senders = await trial(TWILIO, "+33699999999", senders=FakeSenders(broken=True))
    assert not outcome.accepted and not outcome.permanent
    assert outcome.response == "not usable: the secret 'tok' is not set" and senders.closed


async def test_a_stale_etag_is_refused_before_anything_is_built():
    senders = FakeSenders()
    with pytest.raises(Aborted):
        await trial(SMTP, "ann@example.com", etag="stale", senders=senders)
    assert senders.built.calls == [] and not senders.closed
