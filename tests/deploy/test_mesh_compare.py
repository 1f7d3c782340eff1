"""tests/deploy/mesh_compare.py on its own (no istiod): the local sidecar's facts are read from the rendered
config, and a difference in a policy fact is never excused by the allow-list."""

from __future__ import annotations

from mesh.istio import EDGE
from tests.deploy.mesh_compare import compare, local_facts

EVERYTHING = {("*", "*"): "anything"}


def test_local_facts_follow_the_policy(policy, tmp_path):
    facts = local_facts(policy, "campaign", tmp_path)
    assert facts["reach"] == ",".join(sorted(c.name for c in policy.callees("campaign")))
    assert facts["inbound.mtls"] == "STRICT"
    assert {k.removeprefix("callers.") for k in facts if k.startswith("callers.") and "*" not in k} == \
        {grant.caller for grant in policy.service("campaign").grants}
    assert facts["audience.mtls"] == "True" and facts["audience.peer-identity"] == "audience"


def test_a_policy_difference_is_never_explained(policy, tmp_path):
    local = local_facts(policy, "campaign", tmp_path)
    for fact, value in [("callers.analytics", "exact:/anything"), ("reach", "audience"),
                        ("audience.mtls", "False"), ("inbound.mtls", "plaintext allowed")]:
        other = {**local, fact: value}
        assert [row[3] for row in compare("campaign", local, other, EVERYTHING)] == ["DIFFERENT"], fact
    other = {**local, "audience.connect_timeout": "5s"}
    assert [row[3:] for row in compare("campaign", local, other, EVERYTHING)] == [("explained", "anything")]
    assert [row[3] for row in compare("campaign", local, other, {})] == ["DIFFERENT"]


def test_a_method_without_its_own_route_takes_the_default(policy, tmp_path):
    local = local_facts(policy, EDGE, tmp_path)
    default = local["audience.route[default]"]
    method = next(k for k, v in local.items() if k.startswith("audience.route[path:") and v == default)
    other = {k: v for k, v in local.items() if k != method}  # the other side routes the method by its default
    assert compare(EDGE, local, other, {}) == []
    other["audience.route[default]"] = "timeout=1s retries=0"
    assert sorted(row[0] for row in compare(EDGE, local, other, {})) == ["audience.route[default]", method]
