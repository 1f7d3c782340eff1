"""Real Envoy sidecars rendered from mesh/policy.yaml, in front of a stand-in analytics service:
who gets in (mutual TLS, RBAC by SPIFFE ID), and what the caller's sidecar does for it
(retries, deadlines, circuit breaking)."""

from __future__ import annotations

import copy
import threading
import time

import grpc
import pytest
import yaml

from mesh.policy import POLICY_FILE, parse

from tests.mesh.conftest import (ANALYTICS_SERVICE, CAMPAIGN, INTRUDER, FakeService, call, caller_and_callee,
                                 mtls_channel)

REPORT = f"/{ANALYTICS_SERVICE}/GetCampaignReport"  # campaign may call it (policy: services.analytics.callers)
INGEST = f"/{ANALYTICS_SERVICE}/IngestEvents"  # integrations may, campaign may not
AGGREGATE = f"/{ANALYTICS_SERVICE}/AggregateEvents"  # campaign may call it
HEALTH = "/grpc.health.v1.Health/Check"


@pytest.fixture(scope="module")
def pair(tmp_path_factory, policy, certs):
    running = caller_and_callee(policy, certs, tmp_path_factory.mktemp("pair"), FakeService(ANALYTICS_SERVICE).start())
    yield running
    running.stop()


# -- who gets in -----------------------------------------------------------------------------------


def test_a_plaintext_caller_is_refused(pair):
    with grpc.insecure_channel(f"127.0.0.1:{pair.inbound_port}") as channel:
        assert call(channel, REPORT) == grpc.StatusCode.UNAVAILABLE
    assert pair.app.count(REPORT) == 0


def test_a_certificate_from_another_ca_is_refused(pair, rogue_certs):
    """The right SPIFFE ID, signed by a CA the mesh does not trust: the handshake fails."""
    with mtls_channel(rogue_certs, CAMPAIGN, pair.inbound_port, "analytics") as channel:
        assert call(channel, REPORT) == grpc.StatusCode.UNAVAILABLE
    assert pair.app.count(REPORT) == 0


@pytest.mark.parametrize("identity", ["integrations", INTRUDER])
def test_an_identity_the_policy_does_not_allow_gets_permission_denied(pair, certs, identity):
    """integrations may call IngestEvents but not GetCampaignReport; `intruder` is in no policy."""
    denied = pair.callee.stat("http.inbound.rbac.denied")
    with mtls_channel(certs, identity, pair.inbound_port, "analytics") as channel:
        assert call(channel, REPORT) == grpc.StatusCode.PERMISSION_DENIED
    assert pair.callee.stat("http.inbound.rbac.denied") == denied + 1
    assert pair.app.count(REPORT) == 0


def test_a_declared_caller_gets_in_with_its_own_certificate(pair, certs):
    with mtls_channel(certs, CAMPAIGN, pair.inbound_port, "analytics") as channel:
        assert call(channel, REPORT) == grpc.StatusCode.OK
    with mtls_channel(certs, "integrations", pair.inbound_port, "analytics") as channel:
        assert call(channel, INGEST) == grpc.StatusCode.OK
    with mtls_channel(certs, "edge", pair.inbound_port, "analytics") as channel:  # /healthz's identity
        assert call(channel, HEALTH) == grpc.StatusCode.OK


def test_through_its_sidecar_a_caller_reaches_what_it_may_and_only_that(pair):
    """The campaign service's plain channel (MKT_ANALYTICS_TARGET = its sidecar's outbound port):
    its sidecar presents campaign's certificate; analytics's sidecar allows GetCampaignReport,
    refuses IngestEvents."""
    reports, ingests = pair.app.count(REPORT), pair.app.count(INGEST)
    with pair.via_caller() as channel:
        assert call(channel, REPORT) == grpc.StatusCode.OK
        assert call(channel, INGEST) == grpc.StatusCode.PERMISSION_DENIED
    assert pair.app.count(REPORT) == reports + 1
    assert pair.app.count(INGEST) == ingests, "a refused call never reaches the service"


def test_the_identity_header_is_refused_from_anyone_but_the_edge(pair, certs):
    """x-mkt-identity (the principal the edge verified) from campaign, a declared caller of
    GetCampaignReport, is refused by the sidecar; from the edge it passes; without it campaign
    gets in (a call from inside the mesh)."""
    identity = (("x-mkt-identity", "eyJzdWIiOiJtYWxsb3J5Iiwid29ya3NwYWNlcyI6eyIqIjoiYWRtaW4ifX0"),)
    reports = pair.app.count(REPORT)
    with mtls_channel(certs, CAMPAIGN, pair.inbound_port, "analytics") as channel:
        assert call(channel, REPORT, metadata=identity) == grpc.StatusCode.PERMISSION_DENIED
        assert call(channel, REPORT) == grpc.StatusCode.OK
    with pair.via_caller() as channel:  # through campaign's own sidecar: still campaign's identity
        assert call(channel, REPORT, metadata=identity) == grpc.StatusCode.PERMISSION_DENIED
    assert pair.app.count(REPORT) == reports + 1
    with mtls_channel(certs, "edge", pair.inbound_port, "analytics") as channel:
        assert call(channel, HEALTH, metadata=identity) == grpc.StatusCode.OK


# -- what the caller's sidecar does ----------------------------------------------------------------


def test_a_transient_unavailable_is_retried_transparently(pair):
    """The service answers UNAVAILABLE once; the caller's sidecar retries (retry_on: unavailable)
    and the caller sees the answer of the second try."""
    retries = pair.caller.stat("cluster.outbound_analytics.upstream_rq_retry")
    successes = pair.caller.stat("cluster.outbound_analytics.upstream_rq_retry_success")
    before = pair.app.count(REPORT)
    pair.app.fail_next = 1
    with pair.via_caller() as channel:
        assert call(channel, REPORT) == grpc.StatusCode.OK
    assert pair.app.count(REPORT) == before + 2, "two tries reached the service"
    assert pair.caller.stat("cluster.outbound_analytics.upstream_rq_retry") == retries + 1
    assert pair.caller.stat("cluster.outbound_analytics.upstream_rq_retry_success") == successes + 1


def test_retries_stop_at_the_policys_attempts(pair, policy):
    """GetCampaignReport's route allows one retry: two UNAVAILABLE in a row reach the caller."""
    route = next(r for r in policy.service("analytics").routes if REPORT in r.methods)
    assert route.retries.attempts == 1
    pair.app.fail_next = 2
    with pair.via_caller() as channel:
        assert call(channel, REPORT) == grpc.StatusCode.UNAVAILABLE
    pair.app.fail_next = 0


# -- circuit breaking and deadlines, with a policy made tight for the test ----------------------------


def _tight_policy():
    """The real policy, with the analytics service's pool cut to one connection and one request
    waiting for it (max_requests stays the default), and a 300 ms deadline without retries on
    AggregateEvents."""
    document = copy.deepcopy(yaml.safe_load(POLICY_FILE.read_text()))
    analytics = document["services"]["analytics"]
    analytics["connection_pool"] = {"max_connections": 1, "max_pending_requests": 1}
    for route in analytics["routes"]:
        route["methods"] = [m for m in route["methods"] if m != AGGREGATE]
    analytics["routes"].append({"methods": [AGGREGATE], "timeout": "300ms", "retries": {"attempts": 0}})
    return parse(document)


@pytest.fixture
def slow_pair(tmp_path_factory, certs):
    """A slow analytics service that serves one call at a time, behind the tight policy."""
    running = caller_and_callee(_tight_policy(), certs, tmp_path_factory.mktemp("slow"),
                                FakeService(ANALYTICS_SERVICE).start(), callee_streams=1)
    yield running
    running.stop()


def _done_within(futures: list[grpc.Future], count: int, timeout: float = 20.0) -> list[grpc.Future]:
    """Waits (at most `timeout`, a bound for a failing run, not a measure) until `count` of the
    futures are done; returns those."""
    deadline = time.monotonic() + timeout
    done = [f for f in futures if f.done()]
    while len(done) < count and time.monotonic() < deadline:
        time.sleep(0.01)
        done = [f for f in futures if f.done()]
    return done


def test_the_breaker_opens_under_overload_and_closes_after(slow_pair):
    """One call in flight (the service's one stream), one waiting (max_pending_requests 1), and
    the others refused at once by the caller's sidecar (upstream_rq_pending_overflow), never
    reaching the service; once the load is gone, calls go through again. The service holds the
    first call until the test lets it go, so the refusals are seen while it is still held: they
    were not queued behind it."""
    overflow = "cluster.outbound_analytics.upstream_rq_pending_overflow"
    with slow_pair.via_caller() as channel:
        assert call(channel, REPORT, timeout=10) == grpc.StatusCode.OK  # connected
        slow_pair.app.gate = held = threading.Event()
        try:
            burst = [channel.unary_unary(REPORT).future(b"", timeout=30) for _ in range(8)]
            refused = _done_within(burst, 6)
            assert len(refused) == 6, f"{len(refused)} of 8 calls ended while the service held one"
            assert all(f.code() == grpc.StatusCode.UNAVAILABLE for f in refused), [f.code() for f in refused]
            waiting = [f for f in burst if f not in refused]
            assert not any(f.done() for f in waiting)
            assert slow_pair.app.count(REPORT) == 1 + 1, "the second call waits at the caller's sidecar"
        finally:
            held.set()
        assert [f.code() for f in waiting] == [grpc.StatusCode.OK] * 2  # the waiting call went through after
        assert slow_pair.caller.stat(overflow) == 6
        for _ in range(3):  # closed again
            assert call(channel, REPORT, timeout=10) == grpc.StatusCode.OK
    assert slow_pair.app.count(REPORT) == 1 + 2 + 3, "refused calls never reached the service"
    assert slow_pair.caller.stat(overflow) == 6


def test_a_route_deadline_from_the_policy_cuts_a_slow_call(slow_pair):
    """Envoy ends a gRPC call that outlives its route's timeout with UNAVAILABLE (its HTTP 504,
    response flag UT), as Istio's sidecars do. The service never answers while the call is on,
    and the caller's own deadline (30 s) would end it with DEADLINE_EXCEEDED: only the route's
    300 ms deadline can end it with UNAVAILABLE."""
    slow_pair.app.gate = held = threading.Event()
    try:
        with slow_pair.via_caller() as channel:
            code = call(channel, AGGREGATE, timeout=30)
    finally:
        held.set()
    assert code == grpc.StatusCode.UNAVAILABLE, code
    assert slow_pair.app.count(AGGREGATE) == 1  # it reached the service, which had not answered
    assert slow_pair.caller.stat("cluster.outbound_analytics.upstream_rq_timeout") == 1


# -- certificate renewal ------------------------------------------------------------------------------


def _presented_certificate(certs, port: int) -> bytes:
    """The certificate the sidecar on `port` shows a client (DER)."""
    import socket
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(certs.ca))
    context.load_cert_chain(str(certs.cert(CAMPAIGN)), str(certs.key(CAMPAIGN)))
    context.check_hostname = False
    context.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="analytics") as tls:
        return tls.getpeercert(binary_form=True)


def test_renewed_certificates_are_used_without_a_restart(tmp_path, policy):
    """The supervisor renews the certificates (same CA, new keys) and rewrites the SDS files:
    the running sidecars present the new ones and keep calling each other."""
    import ssl

    from mesh import ca, envoy

    from tests.mesh.conftest import identities

    named = identities(policy)
    certs = ca.issue(tmp_path / "certs", named)
    envoy.write_secrets(certs, named)
    running = caller_and_callee(policy, certs, tmp_path / "pair", FakeService(ANALYTICS_SERVICE).start())
    try:
        first = _presented_certificate(certs, running.inbound_port)
        assert first == ssl.PEM_cert_to_DER_cert(certs.cert("analytics").read_text())
        ca.issue_into(certs, named)
        envoy.write_secrets(certs, named)
        renewed = ssl.PEM_cert_to_DER_cert(certs.cert("analytics").read_text())
        assert renewed != first
        deadline = time.monotonic() + 10
        while _presented_certificate(certs, running.inbound_port) != renewed:
            assert time.monotonic() < deadline, "the sidecar still shows the old certificate"
            time.sleep(0.1)
        with running.via_caller() as channel:
            assert call(channel, REPORT) == grpc.StatusCode.OK
        assert running.callee.stat("sds.analytics.update_success") >= 2
        assert running.caller.stat("sds.campaign.update_success") >= 2
    finally:
        running.stop()
