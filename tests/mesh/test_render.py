"""mesh/envoy.py and mesh/local.py: the sidecars' and the edge's Envoy configs rendered from the
policy, accepted by `envoy --mode validate`, and saying exactly what the policy says."""

from __future__ import annotations

import copy
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from edge import envoy_config
from edge.settings import load_edge_settings
from mesh import ca, envoy
from mesh.local import LocalMesh, enabled, port_plan
from mesh.policy import POLICY_FILE, PolicyError, parse
from svc_kit.config import ConfigError
from svc_kit.services import SERVICES


@pytest.fixture(scope="module")
def local(tmp_path_factory, policy):
    """The whole local mesh rendered as `make run` renders it (default ports)."""
    state = tmp_path_factory.mktemp("state")
    from edge.dev_tokens import ensure_dev_keys

    mesh = LocalMesh(state, {}, policy)
    ensure_dev_keys(state)  # the JWKS the edge reads, as `make run` makes it
    mesh.prepare(load_edge_settings({"MKT_STATE_DIR": str(state)}), state / "edge" / "envoy.json")
    return mesh


def _load(path) -> dict:
    import json

    return json.loads(path.read_text())


def _listeners(config: dict) -> dict[str, dict]:
    return {item["name"]: item for item in config["static_resources"]["listeners"]}


def _clusters(config: dict) -> dict[str, dict]:
    return {item["name"]: item for item in config["static_resources"]["clusters"]}


def _manager(listener: dict) -> dict:
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def test_envoy_accepts_every_sidecar_and_the_edge(local):
    paths = [s.config for s in local.sidecars.values()] + [local.folder.parent / "edge" / "envoy.json"]
    for path in paths:
        ok, output = envoy.validate(path)
        assert ok, f"{path.name}: {output}"


def test_rbac_allows_exactly_the_declared_callers_by_spiffe_id(local, policy):
    for service in policy.services:
        config = _load(local.sidecars[service.name].config)
        inbound = _listeners(config)[envoy.INBOUND_LISTENER]
        tls = inbound["filter_chains"][0]["transport_socket"]["typed_config"]
        assert tls["require_client_certificate"] is True
        (rbac,) = [f for f in _manager(inbound)["http_filters"] if f["name"] == "envoy.filters.http.rbac"]
        rules = rbac["typed_config"]["rules"]
        assert rules["action"] == "ALLOW"
        assert set(rules["policies"]) == {g.caller for g in service.grants}, service.name
        for grant in service.grants:
            rule = rules["policies"][grant.caller]
            assert rule["principals"] == [{"authenticated": {"principal_name": {
                "exact": f"spiffe://cluster.local/ns/marketing/sa/{policy.identities[grant.caller].service_account}"}}}]
            text = str(rule["permissions"])
            for method in grant.methods:
                assert repr(method.rstrip("*")) in text, (service.name, grant.caller, method)


def test_the_edge_may_not_delete_a_launch_snapshot(local, policy):
    """The policy's `except`: the edge's audience grant is the whole service minus one method."""
    grant = next(g for g in policy.service("audience").grants if g.caller == "edge")
    delete = "/marketing.audience.v1.AudienceService/DeleteSegmentSnapshot"
    assert grant.excluded == (delete,)
    assert not grant.allows(delete) and grant.allows("/marketing.audience.v1.AudienceService/GetSegmentSnapshot")
    rules = next(f for f in _manager(_listeners(_load(local.sidecars["audience"].config))[envoy.INBOUND_LISTENER])[
        "http_filters"] if f["name"] == "envoy.filters.http.rbac")
    permission = rules["typed_config"]["rules"]["policies"]["edge"]["permissions"][0]
    assert permission["and_rules"]["rules"][1] == {"not_rule": {"or_rules": {"rules": [
        {"url_path": {"path": {"exact": delete}}}]}}}


def test_outbound_listeners_exist_only_for_the_callees_with_their_settings(local, policy):
    for service in policy.services:
        config = _load(local.sidecars[service.name].config)
        callees = {c.name: c for c in policy.callees(service.name)}
        outbound = {name for name in _listeners(config) if name != envoy.INBOUND_LISTENER}
        assert outbound == {envoy.outbound_cluster(n) for n in callees}, service.name
        clusters = _clusters(config)
        for name, callee in callees.items():
            cluster = clusters[envoy.outbound_cluster(name)]
            (limits,) = cluster["circuit_breakers"]["thresholds"]
            pool = callee.connection_pool
            assert (limits["max_connections"], limits["max_pending_requests"], limits["max_requests"]) == \
                (pool.max_connections, pool.max_pending_requests, pool.max_requests)
            assert limits["max_retries"] == callee.default_route.retries.max_outstanding
            assert cluster["outlier_detection"]["consecutive_gateway_failure"] == \
                callee.outlier_detection.consecutive_gateway_errors
            tls = cluster["transport_socket"]["typed_config"]["common_tls_context"]
            (secret,) = tls["tls_certificate_sds_secret_configs"]
            assert secret["name"] == service.name
            assert secret["sds_config"]["path_config_source"]["path"].endswith(f"/sds/{service.name}.json")
            assert tls["validation_context"]["match_typed_subject_alt_names"] == [{
                "san_type": "URI", "matcher": {"exact": f"spiffe://cluster.local/ns/marketing/sa/{name}"}}]
            # The callee's port is its sidecar's inbound listener (the service's public port).
            endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
            assert endpoint["address"]["socket_address"]["port_value"] == local.sidecars[name].inbound_port


def test_routes_carry_the_policys_deadlines_and_retries(local):
    config = _load(local.sidecars["campaign"].config)
    routes = _manager(_listeners(config)["outbound_audience"])["route_config"]["virtual_hosts"][0]["routes"]
    by_name = {r["name"]: r for r in routes}
    stream = by_name["/marketing.audience.v1.AudienceService/StreamSegmentMembers"]
    assert stream["match"] == {"path": "/marketing.audience.v1.AudienceService/StreamSegmentMembers"}
    assert stream["route"]["timeout"] == "600s" and "retry_policy" not in stream["route"]
    snapshot = by_name["/marketing.audience.v1.AudienceService/CreateSegmentSnapshot"]["route"]
    assert snapshot["timeout"] == "120s"
    assert snapshot["retry_policy"] == {"retry_on": "unavailable,reset,connect-failure", "num_retries": 1,
                                        "per_try_timeout": "60s"}
    default = routes[-1]
    assert default["match"] == {"prefix": "/"} and default["route"]["timeout"] == "10s"
    assert default["route"]["retry_policy"]["num_retries"] == 2


def test_each_service_is_told_its_loopback_port_and_its_sidecars_outbound_ports(local, policy):
    campaign = local.sidecars["campaign"]
    env = campaign.service_env()
    assert env["MKT_CAMPAIGN_GRPC_PORT"] == "15019" and env["MKT_BIND_HOST"] == "127.0.0.1"
    assert {k: v for k, v in env.items() if k.endswith("_TARGET")} == {
        "MKT_AUDIENCE_TARGET": "127.0.0.1:15012", "MKT_CONTENT_TARGET": "127.0.0.1:15013",
        "MKT_ANALYTICS_TARGET": "127.0.0.1:15014", "MKT_NOTIFY_TARGET": "127.0.0.1:15015",
        "MKT_INTEGRATIONS_TARGET": "127.0.0.1:15016"}  # journeys' call_webhook steps
    assert [k for k in local.sidecars["content"].service_env() if k.endswith("_TARGET")] == ["MKT_AUDIENCE_TARGET"]
    every_port = [p for s in local.sidecars.values() for p in (*s.ports().values(), s.app_port)]
    assert len(every_port) == len(set(every_port)), "no port is used twice"
    assert {s.inbound_port for s in local.sidecars.values()} == {spec.grpc_port for spec in SERVICES}


def test_the_port_plan():
    assert port_plan(15000, "campaign", ("audience", "analytics")) == (15010, 15019,
                                                                      {"audience": 15012, "analytics": 15014})
    assert port_plan(20000, "integrations", ()) == (20060, 20069, {})


def test_the_edge_speaks_mtls_to_every_sidecar_with_the_callees_routes(local, policy):
    config = _load(local.folder.parent / "edge" / "envoy.json")
    clusters = _clusters(config)
    for service in policy.services:
        tls = clusters[service.name]["transport_socket"]["typed_config"]["common_tls_context"]
        assert tls["tls_certificate_sds_secret_configs"][0]["name"] == "edge"
        assert tls["validation_context"]["match_typed_subject_alt_names"][0]["matcher"]["exact"] == \
            f"spiffe://cluster.local/ns/marketing/sa/{service.name}"
    routes = _manager(_listeners(config)["edge"])["route_config"]["virtual_hosts"][0]["routes"]
    assert routes[0]["match"] == {"path": "/healthz"} and routes[-1]["direct_response"] == {"status": 404}
    stream = next(r for r in routes if r["match"].get("path") == "/marketing.audience.v1.AudienceService/"
                                                                  "StreamSegmentMembers")
    assert stream["route"]["timeout"] == "30s", "bounded by the edge's own route timeout"
    prefixes = [r["match"]["prefix"] for r in routes if "prefix" in r["match"]]
    public = [m["prefix"] for m in envoy_config.PUBLIC_PATHS if "prefix" in m]  # the edge's own pages
    assert prefixes == public + [f"/{spec.grpc_service}/" for spec in SERVICES] + ["/"]


def test_certificates_carry_the_spiffe_id_and_live_a_day(local):
    text = subprocess.run(["openssl", "x509", "-in", str(local.certs.cert("notify")), "-noout", "-ext",
                           "subjectAltName", "-enddate"], capture_output=True, text=True, check=True).stdout
    assert "URI:spiffe://cluster.local/ns/marketing/sa/notify" in text and "DNS:notify" in text
    ends = datetime.strptime(text.split("notAfter=")[1].strip(), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
    assert ends - datetime.now(UTC) <= timedelta(hours=24, minutes=1)
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(local.certs.ca), str(local.certs.cert("edge"))],
                              capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert oct(local.certs.key("edge").stat().st_mode & 0o777) == "0o600"


def test_the_mesh_switch():
    assert enabled({}) is True and enabled({"MKT_MESH": "off"}) is False and enabled({"MKT_MESH": "ON"}) is True
    with pytest.raises(ConfigError, match="MKT_MESH='maybe' must be on or off"):
        enabled({"MKT_MESH": "maybe"})


@pytest.mark.parametrize("excepted, expected", [
    (["/marketing.audience.v1.AudienceService/NoSuchMethod"], "has no method 'NoSuchMethod'"),
    (["/marketing.audience.v1.AudienceService/*"], "name the methods to except, not a wildcard"),
])
def test_a_bad_except_is_named(excepted, expected):
    document = copy.deepcopy(yaml.safe_load(POLICY_FILE.read_text()))
    document["services"]["audience"]["callers"]["edge"]["except"] = excepted
    with pytest.raises(PolicyError, match=r"services\.audience\.callers\.edge\.except\[0\]: .*" + expected):
        parse(document)


def test_an_except_outside_the_wildcard_is_named():
    document = copy.deepcopy(yaml.safe_load(POLICY_FILE.read_text()))
    document["services"]["analytics"]["callers"]["campaign"] = {
        "methods": ["/marketing.analytics.v1.AnalyticsService/GetCampaignReport"],
        "except": ["/marketing.analytics.v1.AnalyticsService/IngestEvents"]}
    with pytest.raises(PolicyError, match="is not covered by a wildcard in services.analytics.callers.campaign.methods"):
        parse(document)


def test_a_fresh_ca_is_made_at_every_start(tmp_path, policy):
    first = ca.issue(tmp_path / "certs", {"edge": (envoy.spiffe_id(policy, "edge"), ["edge"])})
    before = first.ca.read_bytes()
    again = ca.issue(tmp_path / "certs", {"edge": (envoy.spiffe_id(policy, "edge"), ["edge"])})
    assert again.ca.read_bytes() != before
