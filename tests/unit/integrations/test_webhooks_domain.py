"""Webhooks, pure: Standard Webhooks signatures (checked with the `standardwebhooks` library),
the retry schedule, the delivery and webhook state machines, URL rules, event types."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook as Verifier, WebhookVerificationError

from svc_integrations.domain import webhooks as wh
from svc_kit.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_a_signed_delivery_verifies_with_the_standard_webhooks_library():
    secret = wh.new_secret()
    assert secret.startswith("whsec_") and len(wh.secret_bytes(secret)) == 32
    body = wh.payload("campaign.scheduled", NOW, {"campaign": "workspaces/acme/campaigns/c1"})
    stamp = int(datetime.now(UTC).timestamp())
    headers = wh.headers([secret], "msg_1", stamp, body, {"x-team": "growth"})
    assert headers["x-team"] == "growth" and headers["webhook-id"] == "msg_1"
    assert Verifier(secret).verify(body, headers) == {
        "type": "campaign.scheduled", "timestamp": "2026-12-05T09:00:00.000Z",
        "data": {"campaign": "workspaces/acme/campaigns/c1"}}
    with pytest.raises(WebhookVerificationError):
        Verifier(wh.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(body.replace(b"c1", b"c2"), headers)


def test_during_a_rotation_both_secrets_sign_and_each_verifies():
    old, new = wh.new_secret(), wh.new_secret()
    hook = wh.Webhook("acme", "h", "n", "https://example.com", ("*",), secret=old, create_time=NOW)
    rotated = hook.rotate(new, NOW, timedelta(hours=24))
    assert rotated.signing_secrets(NOW + timedelta(hours=1)) == [new, old]
    assert rotated.signing_secrets(NOW + timedelta(hours=25)) == [new]
    body = b'{"type":"webhook.ping"}'
    stamp = int(datetime.now(UTC).timestamp())
    headers = wh.headers(rotated.signing_secrets(NOW), "msg_2", stamp, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Verifier(secret).verify(body, headers)


def test_the_signature_is_hmac_sha256_over_id_timestamp_body():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the example of the Standard Webhooks specification
    body = b'{"test": 2432232314}'
    assert wh.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secrets_must_be_whsec_base64():
    assert wh.check_secret(wh.new_secret()) == []
    assert wh.check_secret("hunter2")[0].field == "webhook.signing_secret"
    assert wh.check_secret("whsec_c2hvcnQ=")  # too short a key


def test_the_retry_schedule_backs_off_with_jitter_for_about_a_day_then_gives_up():
    delays = [wh.retry_delay(n, rand=lambda: 0.5) for n in range(1, len(wh.DEFAULT_SCHEDULE) + 1)]
    assert [d.total_seconds() for d in delays] == list(wh.DEFAULT_SCHEDULE)
    assert all(a < b for a, b in zip(delays, delays[1:-1], strict=False))
    assert timedelta(hours=20) < sum(delays, timedelta()) < timedelta(hours=30)
    assert wh.retry_delay(len(wh.DEFAULT_SCHEDULE) + 1) is None
    low, high = wh.retry_delay(2, rand=lambda: 0.0), wh.retry_delay(2, rand=lambda: 0.999999)
    assert low.total_seconds() == pytest.approx(240) and high.total_seconds() == pytest.approx(360, abs=0.01)
    assert wh.parse_schedule("5, 60") == (5.0, 60.0)
    with pytest.raises(ValueError):
        wh.parse_schedule("5,-1")


def _delivery(**kw):
    return wh.Delivery("acme", "h", "d1", "e1", "campaign.scheduled", b"{}", create_time=NOW, next_attempt_time=NOW,
                       **kw)


def test_a_delivery_succeeds_retries_then_is_dead_lettered():
    schedule = (5, 60)
    first = wh.after_attempt(_delivery(), wh.Attempt(500, 12), NOW, schedule, rand=lambda: 0.5)
    assert (first.state, first.attempt_count, first.failures, first.error, first.response_code,
            first.latency_ms) == ("PENDING", 1, 1, "HTTP 500", 500, 12)
    assert first.next_attempt_time == NOW + timedelta(seconds=5)
    second = wh.after_attempt(first, wh.Attempt(0, 10_000, "timed out after 10s"), NOW, schedule, rand=lambda: 0.5)
    assert second.state == "PENDING" and second.next_attempt_time == NOW + timedelta(seconds=60)
    third = wh.after_attempt(second, wh.Attempt(503, 3), NOW, schedule)
    assert third.state == "FAILED" and third.attempt_count == 3 and "gave up after 3 attempts" in third.error
    again = wh.replayed(third, NOW)
    assert (again.state, again.failures, again.id, again.body) == ("PENDING", 0, "d1", b"{}")
    done = wh.after_attempt(again, wh.Attempt(204, 4), NOW, schedule)
    assert (done.state, done.attempt_count, done.error, done.next_attempt_time) == ("SUCCEEDED", 4, "", None)
    with pytest.raises(FailedPrecondition):
        wh.replayed(first, NOW)


def test_a_webhook_pauses_resumes_and_checks_its_etag():
    hook = wh.Webhook("acme", "h", "n", "https://example.com", ("*",), state=wh.FAILING, state_message="down",
                      consecutive_failures=7, create_time=NOW)
    resumed = hook.resume(NOW)
    assert (resumed.state, resumed.state_message, resumed.consecutive_failures, resumed.version) == \
        ("ACTIVE", "", 0, 2)
    assert resumed.pause(NOW).state == "PAUSED" and resumed.pause(NOW).pause(NOW).version == 3
    from svc_kit.errors import Aborted
    with pytest.raises(Aborted):
        resumed.check_etag(hook.etag)
    resumed.check_etag(resumed.etag)


@pytest.mark.parametrize("uri, mode, ok", [
    ("https://hooks.example.com/in", "production", True),
    ("https://hooks.example.com:8443/in?x=1", "production", True),
    ("http://hooks.example.com/in", "development", False),
    ("http://localhost:8080/in", "development", True),
    ("http://127.0.0.1:8080/in", "development", True),
    ("http://localhost:8080/in", "production", False),
    ("https://localhost/in", "production", False),
    ("https://10.1.2.3/in", "production", False),
    ("https://169.254.169.254/latest/meta-data", "production", False),
    ("https://[::1]/in", "production", False),
    ("https://[::ffff:192.168.0.1]/in", "production", False),
    ("https://user:pw@example.com/in", "development", False),
    ("ftp://example.com/in", "development", False),
    ("https:///in", "development", False),
    ("", "development", False),
])
def test_webhook_urls_follow_the_ssrf_rules(uri, mode, ok):
    problems = wh.check_uri(uri, mode)
    assert (problems == []) is ok, problems
    assert all(p.field == "webhook.uri" for p in problems)


def test_resolved_addresses_must_be_public_in_production():
    assert wh.check_resolved("ok.example", ["93.184.216.34"], "production") == []
    for address in ("127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "fe80::1%eth0",
                    "::1", "fd00::1", "100.64.1.1", "0.0.0.0"):
        assert wh.check_resolved("evil.example", ["93.184.216.34", address], "production"), address
    assert wh.check_resolved("dev.example", ["127.0.0.1"], "development") == []
    assert wh.forbidden_address(ipaddress.ip_address("169.254.169.254")) == "a cloud metadata address"


def test_event_types_are_checked_against_the_known_list_and_match_wildcards():
    assert wh.check_event_types(["campaign.scheduled", "message.*", "*"]) == []
    problems = wh.check_event_types(["campaign.exploded", "nothing.*"])
    assert [p.field for p in problems] == ["webhook.event_types[0]", "webhook.event_types[1]"]
    assert wh.check_event_types([])
    assert wh.matches("message.*", "message.opened") and not wh.matches("message.*", "campaign.launched")
    assert wh.matches("*", "profile.erased") and wh.matches("profile.erased", "profile.erased")
    with pytest.raises(InvalidArgument) as refused:
        wh.check_webhook("", "http://example.com", ["x.y"], {"Webhook-Id": "1"}, {"Bad Key": "v"}, "development")
    assert {v.field for v in refused.value.violations} == {
        "webhook.display_name", "webhook.uri", "webhook.event_types[0]", "webhook.headers[Webhook-Id]",
        "webhook.labels[Bad Key]"}


def test_bus_events_become_webhook_events():
    micros = int(NOW.timestamp() * 1_000_000)
    event = wh.from_bus({"event_id": "e1", "event_type": "campaign_scheduled", "workspace": "acme",
                         "aggregate_id": "c1", "occurred_at": micros,
                         "payload": {"from_state": "DRAFT", "to_state": "SCHEDULED"}})
    assert (event.type, event.workspace, event.time) == ("campaign.scheduled", "acme", NOW)
    assert event.data == {"workspace": "workspaces/acme", "campaign": "workspaces/acme/campaigns/c1",
                          "from_state": "DRAFT", "to_state": "SCHEDULED"}
    opened = wh.from_bus({"event_id": "e2", "event_type": "message_opened", "workspace": "acme",
                          "aggregate_id": "workspaces/acme/messages/m1", "occurred_at": NOW,
                          "payload": {"message": {"campaign": "c1"}, "user_agent": "x"}})
    assert opened.type == "message.opened" and opened.data["message"] == {"campaign": "c1"}
    assert wh.from_bus({"event_id": "e3", "event_type": "campaign_started", "workspace": "acme"}).type == \
        "campaign.launched"
    assert wh.from_bus({"event_id": "e4", "event_type": "audit_recorded", "workspace": "acme"}) is None
    assert set(wh.BY_BUS_TYPE.values()) == set(wh.EVENT_TYPES)
