"""The service signals of docs/observability.md "Metrics" on each service's /metrics after a scheduled
campaign's send, and a real Prometheus scraping every target of the running platform."""

from __future__ import annotations

import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from devstack.servers import smtp_sink
from devstack.servers.prometheus import scrape_targets
from svc_kit.services import SERVICES
from tests.e2e.test_campaign_schedule import audience_and_template, emails_of, eventually, iso

pytestmark = pytest.mark.e2e
DEADLINE = 60.0


def samples(running, service: str) -> list[tuple[str, dict, float]]:
    url = f"http://127.0.0.1:{running.metrics_ports[service]}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]


def total(found, name: str, **labels) -> float | None:
    """The sum of the samples of `name` whose labels include `labels`; None when there is none."""
    values = [v for n, ls, v in found if n == name and labels.items() <= ls.items()]
    return sum(values) if values else None


# (service, sample name, labels, least value): what one scheduled send must leave behind.
EXPECTED = [
    ("campaign", "mkt_campaign_starts_total", {"trigger": "schedule", "outcome": "ok"}, 1),
    ("campaign", "mkt_campaign_start_lateness_seconds_count", {"trigger": "schedule"}, 1),
    ("campaign", "mkt_outbox_published_total", {}, 1),
    ("campaign", "mkt_outbox_pending_events", {}, 0),
    ("campaign", "mkt_outbox_oldest_pending_age_seconds", {}, 0),
    ("campaign", "mkt_consumer_messages_total", {"outcome": "processed"}, 1),
    ("campaign", "mkt_consumer_lag_seconds", {}, 0),
    ("campaign", "mkt_consumer_event_delay_seconds_count", {}, 1),
    ("audience", "mkt_outbox_pending_events", {}, 0),
    ("audience", "mkt_outbox_published_total", {}, 1),
    ("audience", "mkt_consumer_messages_total", {"outcome": "processed"}, 1),
    ("content", "mkt_consumer_messages_total", {"outcome": "processed"}, 1),
    ("content", "mkt_outbox_pending_events", {}, 0),
    ("notify", "mkt_notify_deliveries_total", {"channel": "email", "outcome": "sent"}, 3),
    ("notify", "mkt_notify_handoff_seconds_count", {"channel": "email"}, 3),
    ("notify", "mkt_notify_deliveries_total", {"channel": "email", "provider": "smtp", "outcome": "bounced"}, 1),
    ("notify", "mkt_outbox_published_total", {}, 3),
    ("notify", "mkt_consumer_lag_seconds", {}, 0),  # its only consumer (erasures) saw no traffic here
    ("analytics", "mkt_analytics_batches_total", {"outcome": "ok"}, 1),
    ("analytics", "mkt_analytics_ingest_lag_seconds_count", {}, 3),
    ("analytics", "mkt_consumer_messages_total", {"outcome": "processed"}, 3),
    ("analytics", "mkt_consumer_event_delay_seconds_count", {}, 3),
]


@pytest.fixture(scope="module")
def scheduled_send(running):
    """A campaign scheduled 3 s ahead to three people, run until their emails arrived."""
    ws, rest = f"met-{uuid.uuid4().hex[:8]}", running.rest
    segment, template = audience_and_template(rest, ws)
    start = datetime.now(UTC) + timedelta(seconds=3)
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Measured", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": iso(start), "endTime": iso(start + timedelta(hours=1)), "timeZone": "UTC"}})
    rest.ok("POST", f"/v1/{campaign['name']}:schedule", {})
    mails = eventually(lambda: len(found := emails_of(running, ws)) == 3 and found, "the three emails",
                       timeout=DEADLINE)
    # One of them bounces (the provider's signed callback, as the SMTP sink's provider would send it).
    path, body, signed = smtp_sink.delivery_callback(running.platform.env[smtp_sink.CALLBACK_SECRET_VARIABLE], ws,
                                                     [{"message": mails[0]["X-Notify-Message"], "type": "bounced",
                                                       "bounce_type": "hard", "detail": "550 5.1.1"}])
    assert rest.call("POST", path, raw=body, headers=signed).status == 200
    return campaign["name"]


def test_every_signal_is_on_its_service_after_a_scheduled_send(running, scheduled_send):
    deadline = time.monotonic() + DEADLINE
    while True:
        found = {spec.name: samples(running, spec.name) for spec in SERVICES}
        missing = [f"{service} {name}{labels} >= {least} (is {total(found[service], name, **labels)})"
                   for service, name, labels, least in EXPECTED
                   if (value := total(found[service], name, service=service, **labels)) is None or value < least]
        if not missing:
            break
        assert time.monotonic() < deadline, "signals missing or too low:\n" + "\n".join(missing)
        time.sleep(0.5)
    notify = found["notify"]
    providers = {ls["provider"] for n, ls, _ in notify if n == "mkt_notify_deliveries_total"}
    assert providers and "" not in providers
    for service, rows in found.items():  # the service label is the process's own, on every signal
        assert {ls.get("service") for n, ls, _ in rows if n.startswith("mkt_")} <= {service}, service
    lateness = total(found["campaign"], "mkt_campaign_start_lateness_seconds_sum")
    assert 0 <= lateness < 3600


def test_prometheus_scrapes_every_service_and_the_edge(running, prometheus):
    targets = scrape_targets(running.platform)
    jobs = {t.job for t in targets}
    assert jobs == {spec.name for spec in SERVICES} | {"edge"}
    up = prometheus.client.wait_until_up(sorted(jobs))
    assert {t["labels"]["job"] for t in up} == jobs
    for spec in SERVICES:  # at least one health check counted on each
        with running.channel(spec.name) as channel:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)

    def grpc_jobs():
        return {r["metric"]["job"] for r in prometheus.client.query("grpc_server_handled_total")}

    assert eventually(lambda: grpc_jobs() >= {spec.name for spec in SERVICES}, "grpc series of six jobs",
                      timeout=DEADLINE)
    envoy = prometheus.client.query('count by (job) ({job="edge", __name__=~"envoy_.+"})')
    assert envoy and float(envoy[0]["value"][1]) > 10
    assert [r for r in prometheus.client.query('up{job="edge"}') if r["value"][1] == "1"]
