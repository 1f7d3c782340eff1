"""mesh/policy.yaml and its loader: the real file loads, and mistakes are named precisely."""

from __future__ import annotations

import copy

import pytest
import yaml

from mesh.policy import POLICY_FILE, PolicyError, grpc_methods, parse
from svc_kit.services import SERVICES


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(POLICY_FILE.read_text())


def test_the_policy_covers_every_service_and_the_declared_calls(policy):
    assert [s.name for s in policy.services] == [s.name for s in SERVICES]
    callers = {s.name: {g.caller for g in s.grants} for s in policy.services}
    assert all("edge" in who for who in callers.values()), "the edge calls every service"
    assert {"notify", "campaign", "integrations"} <= callers["audience"]
    assert "notify" in callers["content"]
    assert {"campaign", "integrations"} <= callers["analytics"]
    assert "analytics" in callers["campaign"]
    assert [s.name for s in policy.callees("notify")] == ["audience", "content"]
    assert policy.principal("notify") == "cluster.local/ns/marketing/sa/notify"
    assert policy.identities["notify"].spiffe_id("cluster.local", "ns1") == "spiffe://cluster.local/ns/ns1/sa/notify"


def test_every_granted_method_exists(policy):
    methods = grpc_methods()
    for service in policy.services:
        for grant in service.grants:
            for path in grant.methods:
                name, method = path[1:].split("/")
                assert method == "*" or method in methods[name], path


def test_routes_and_defaults(policy):
    audience = policy.service("audience")
    method = "/marketing.audience.v1.AudienceService/StreamSegmentMembers"
    stream = next(r for r in audience.routes if method in r.methods)
    assert stream.timeout.go() == "10m" and stream.retries.attempts == 0
    default = audience.default_route
    assert default.methods == () and default.timeout.go() == "10s"
    assert default.retries.retry_on == "unavailable,reset,connect-failure"
    assert default.retries.per_try_timeout.proto() == "4s"
    assert audience.connection_pool.max_requests == 1024  # the service's own block, merged over the defaults
    assert policy.service("campaign").connection_pool.max_requests == 512


def _error(document: dict, change) -> str:
    broken = copy.deepcopy(document)
    change(broken)
    with pytest.raises(PolicyError) as caught:
        parse(broken)
    return str(caught.value)


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["services"]["audience"]["callers"].__setitem__("billing", ["health"]),
     "services.audience.callers.billing: unknown caller"),
    (lambda d: d["services"]["audience"]["callers"]["notify"].append(
        "/marketing.audience.v1.AudienceService/SendEverything"),
     "services.audience.callers.notify[6]: /marketing.audience.v1.AudienceService/SendEverything: "
     "marketing.audience.v1.AudienceService has no method 'SendEverything'"),
    (lambda d: d["services"]["audience"]["callers"]["notify"].append(
        "/marketing.campaign.v1.CampaignService/GetCampaign"),
     "marketing.campaign.v1.CampaignService is not served here"),
    (lambda d: d["services"]["audience"]["callers"]["notify"].append("CheckReachability"),
     "'CheckReachability' is not a full gRPC method name"),
    (lambda d: d["services"]["audience"]["callers"]["notify"].append("/grpc.health.v1.Health/*"),
     "a wildcard is not allowed here"),
    (lambda d: d["services"]["audience"]["callers"]["notify"].append(
        "/marketing.audience.v1.AudienceService/CheckReachability"), "is listed twice"),
    (lambda d: d["services"].pop("content"), "services: 'content' is missing"),
    (lambda d: d["services"].__setitem__("billing", d["services"]["content"]), "services.billing: no such service"),
    (lambda d: d["services"]["notify"].__setitem__("service_account", "audience"),
     "service account 'audience' is given to both"),
    (lambda d: d["services"]["notify"]["callers"].__setitem__("notify", ["health"]), "does not call itself"),
    (lambda d: d["defaults"].__setitem__("timeout", "10 seconds"), "defaults.timeout: '10 seconds' is not a duration"),
    (lambda d: d["defaults"]["retries"].__setitem__("retry_on", ["unavailable", "sometimes"]),
     "defaults.retries.retry_on[1]: 'sometimes' is not one of"),
    (lambda d: d["services"]["content"].__setitem__("retries", {"per_try_timeout": "20s"}),
     "services.content.retries.per_try_timeout: 20s is longer than the timeout 10s"),
    (lambda d: d["services"]["content"].__setitem__("colour", "blue"), "services.content.colour: unknown key"),
    (lambda d: d["edge"]["callers"]["ingress-gateway"].append("v1/*"),
     "edge.callers.ingress-gateway[3]: 'v1/*' is not"),
    (lambda d: d["telemetry"].__setitem__("trace_sampling_percent", 150), "must be a number from 0 to 100"),
    (lambda d: d["services"]["audience"]["routes"][1]["methods"].append(
        "/marketing.audience.v1.AudienceService/StreamSegmentMembers"), "already has a route (routes[0])"),
])
def test_mistakes_are_named(document, change, expected):
    message = _error(document, change)
    assert message.startswith("policy.yaml: ")
    assert expected in message, message


def test_a_mistake_in_the_defaults_is_named_there(document):
    message = _error(document, lambda d: d["defaults"]["connection_pool"].__setitem__("connect_timeout", "fast"))
    assert "defaults.connection_pool.connect_timeout: 'fast' is not a duration" in message
