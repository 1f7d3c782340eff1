"""The whole platform under the supervisor (devstack/servers/platform.py) with the local mesh on: every
service behind its own Envoy sidecar, the edge a mesh caller with its own certificate."""

from __future__ import annotations

import json
import signal
import time
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from svc_kit.services import SERVICES
from tests.mesh.conftest import call, mtls_channel

pytestmark = pytest.mark.e2e


def _stat(sidecar, name: str) -> int:
    with urllib.request.urlopen(f"{sidecar.admin_url}/stats?filter={name}", timeout=5) as response:
        for line in response.read().decode().splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
    return 0


def _child(platform, name: str):
    return next(c for c in platform.children if c.name == name)


def test_every_service_runs_behind_its_sidecar(running):
    platform = running.platform
    mesh = platform.mesh
    for spec in SERVICES:
        sidecar = mesh.sidecars[spec.name]
        service, proxy = _child(platform, spec.name), _child(platform, sidecar.child_name)
        assert service.exited() is None and proxy.exited() is None
        # The service listens on loopback at its own port; its public port is the sidecar's.
        assert service.env[spec.env_prefix + "GRPC_PORT"] == str(sidecar.app_port)
        assert sidecar.inbound_port == running.grpc_ports[spec.name]
        # The supervisor's readiness check goes to the service itself, on loopback.
        assert platform.service_status(spec.name) == "SERVING"
        # Plaintext to the public port is refused: only mutual TLS gets in.
        with grpc.insecure_channel(f"127.0.0.1:{sidecar.inbound_port}") as channel:
            assert call(channel, "/grpc.health.v1.Health/Check", timeout=2) == grpc.StatusCode.UNAVAILABLE
    # The campaign service reaches its callees only through its own sidecar.
    campaign = _child(platform, "campaign").env
    outbound = mesh.sidecars["campaign"].outbound
    assert campaign["MKT_ANALYTICS_TARGET"] == f"127.0.0.1:{outbound['analytics']}"
    assert campaign["MKT_AUDIENCE_TARGET"] == f"127.0.0.1:{outbound['audience']}"


def test_healthz_checks_every_service_through_its_sidecar_as_the_edge(running):
    response = running.rest.call("GET", "/healthz")
    assert response.status == 200 and response.body["status"] == "SERVING", response.body
    mesh = running.platform.mesh
    for spec in SERVICES:
        assert _stat(mesh.sidecars[spec.name], "http.inbound.rbac.allowed") > 0, spec.name
    lines = _child(running.platform, "audience-sidecar").log_path.read_text().splitlines()
    checks = [json.loads(line) for line in lines if line.startswith("{") and "Health/Check" in line]
    assert checks and checks[-1]["peer"] == "spiffe://cluster.local/ns/marketing/sa/edge"


def test_the_mesh_certificates_serve_a_health_check_with_the_edges_identity(running):
    mesh = running.platform.mesh
    with mtls_channel(mesh.certs, "edge", running.grpc_ports["notify"], "notify") as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="marketing.notify.v1.NotifyService"), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_through_the_edge_a_method_the_policy_does_not_grant_it_answers_403(running):
    """mesh/policy.yaml: the edge may call every audience method except DeleteSegmentSnapshot."""
    sidecar = running.platform.mesh.sidecars["audience"]
    denied = _stat(sidecar, "http.inbound.rbac.denied")
    response = running.rest.call("DELETE", "/v1/workspaces/acme/segments/fans/snapshots/launch-1")
    assert response.status == 403, response.body
    assert response.body["code"] == 7 and "RBAC" in response.body["message"]
    assert _stat(sidecar, "http.inbound.rbac.denied") == denied + 1
    # Its neighbours are granted: a missing snapshot is a plain 404 from the audience service.
    assert running.rest.call("GET", "/v1/workspaces/acme/segments/fans/snapshots/launch-1").status == 404


def test_the_stats_read_carries_the_analytics_report_through_the_mesh(running):
    created = running.rest.call("POST", "/v1/workspaces/stats/campaigns", {"displayName": "Spring sale"})
    assert created.status == 200, created.body
    stats = running.rest.call("GET", f"/v1/{created.body['name']}/stats")
    assert stats.status == 200, stats.body
    assert stats.body["campaign"]["displayName"] == "Spring sale"
    assert not stats.body.get("reportingDegraded"), stats.body.get("degradedReason")
    assert stats.body["report"]["name"] == f"{created.body['name']}/report"  # no events yet: a report of zeros


def test_the_supervisor_renews_the_certificates_and_nothing_restarts(running):
    platform = running.platform
    mesh = platform.mesh
    pids = {c.name: c.process.pid for c in platform.children}
    before = mesh.certs.cert("campaign").read_bytes()
    mesh.issued_at -= 13 * 3600  # half-way through their 24 hours
    platform.watch_once()
    assert "-> renewed the local mesh's certificates" in platform.out.getvalue()
    assert mesh.certs.cert("campaign").read_bytes() != before
    assert {c.name: c.process.pid for c in platform.children} == pids, "no process was restarted"
    deadline = time.monotonic() + 10
    while _stat(mesh.sidecars["campaign"], "sds.campaign.update_success") < 2:
        assert time.monotonic() < deadline, "the campaign sidecar did not load its new certificate"
        time.sleep(0.1)
    # /healthz (new channels with the edge's new certificate) and REST through the edge still work.
    assert running.rest.call("GET", "/healthz").status == 200
    assert running.rest.call("POST", "/v1/workspaces/renewed/campaigns", {"displayName": "x"}).status == 200


def test_with_analytics_killed_campaigns_keep_answering_and_stats_say_degraded(running):
    platform, rest = running.platform, running.rest
    analytics = _child(platform, "analytics")
    analytics.process.send_signal(signal.SIGKILL)
    analytics.process.wait(timeout=10)
    try:
        base = "/v1/workspaces/degraded/campaigns"
        created = rest.call("POST", base, {"displayName": "Autumn sale"})
        assert created.status == 200, created.body
        name = created.body["name"]
        assert rest.call("GET", f"/v1/{name}").body["displayName"] == "Autumn sale"
        patched = rest.call("PATCH", f"/v1/{name}?updateMask=description",
                            {"description": "Ten percent off", "etag": created.body["etag"]})
        assert patched.status == 200, patched.body
        assert [c["name"] for c in rest.call("GET", base).body["campaigns"]] == [name]
        stats = rest.call("GET", f"/v1/{name}/stats")
        assert stats.status == 200, stats.body
        assert stats.body["campaign"]["description"] == "Ten percent off"
        assert stats.body["reportingDegraded"] is True
        assert "the analytics service is unavailable (UNAVAILABLE" in stats.body["degradedReason"]
        assert rest.call("POST", f"/v1/{name}:cancel", {}).status == 200
        # The campaign's sidecar saw the analytics sidecar fail and retried once, as the policy says.
        campaign_sidecar = platform.mesh.sidecars["campaign"]
        assert _stat(campaign_sidecar, "cluster.outbound_analytics.upstream_rq_retry") >= 1
    finally:
        # The supervisor brings analytics back; the stats read then carries its report again.
        platform.watch_once()
        deadline = time.monotonic() + 30
        while platform.service_status("analytics") != "SERVING":
            assert time.monotonic() < deadline, analytics.tail()
            time.sleep(0.2)
    assert "-> restarting analytics" in platform.out.getvalue()
    deadline = time.monotonic() + 15
    while rest.call("GET", f"/v1/{name}/stats").body.get("reportingDegraded"):
        assert time.monotonic() < deadline, "the stats read did not reach analytics again"
        time.sleep(0.5)


def test_an_access_export_reaches_every_service_through_the_mesh_and_the_edge_may_not_ask_one(running):
    """audience calls each service's ExportProfileData through its sidecar (mesh/policy.yaml grants it to
    audience only); the edge calling it directly (gRPC through the edge) is refused: without credentials by the edge, with an
    admin token by the notify sidecar."""
    upserted = running.rest.call("POST", "/v1/workspaces/privmesh/profiles/ann:upsert",
                                 {"profile": {"email": "ann@example.com"}})
    assert upserted.status == 200, upserted.body
    export = running.rest.call("GET", "/v1/workspaces/privmesh/profiles/ann:exportData")
    assert export.status == 200, export.body
    assert [s["service"] for s in export.body["sections"]] == ["audience", "notify", "content", "campaign",
                                                                "analytics"]
    assert export.body["sections"][0]["data"]["profiles"][0]["email"] == "ann@example.com"
    with grpc.insecure_channel(f"127.0.0.1:{running.edge_port}") as channel:
        anonymous = call(channel, "/marketing.notify.v1.NotifyService/ExportProfileData")
        admin = call(channel, "/marketing.notify.v1.NotifyService/ExportProfileData",
                     metadata=[("authorization", f"Bearer {running.rest.token}")])
    assert anonymous == grpc.StatusCode.UNAUTHENTICATED
    assert admin == grpc.StatusCode.PERMISSION_DENIED
