"""The chart applied to a real Kubernetes API server (the session's `kube` control plane: etcd,
kube-apiserver v1.37 and kube-controller-manager, with Istio's and the Prometheus Operator's CRDs).

Every profile's `helm template` output is applied server-side (PATCH application/apply-patch+yaml,
fieldManager mkt-tests, force) into a namespace of its own, mkt-<profile>, created first. The server
enforces what the offline schema checks of test_chart.py cannot: the CRDs' CEL rules, built-in
validation across fields, defaulting. With the controller manager running, Deployments get their
ReplicaSets and pods, which stay Pending (no kubelet, no node), and a changed pod template rolls out
as a new ReplicaSet."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
import yaml

from devstack.servers.kube import KubeAPIError
from mesh import istio
from mesh.policy import POLICY_FILE, PolicyError, parse
from tests.deploy.conftest import CHART, PROFILES, RELEASE, run_helm
from tests.deploy.manifests import describe, load_all

FIELD_MANAGER = "mkt-tests"
MESH_KINDS = {"PeerAuthentication", "AuthorizationPolicy", "DestinationRule", "VirtualService", "Sidecar"}
# Kinds each profile must have had accepted (at least one object of each).
REQUIRED_KINDS = {
    "default": {"Deployment", "Service", "ServiceAccount", "ConfigMap", "PodDisruptionBudget"},
    "dev": {"Deployment", "Service", "ServiceAccount", "ConfigMap", "PodDisruptionBudget"},
    "production": MESH_KINDS | {"Deployment", "Service", "ServiceAccount", "ConfigMap", "HorizontalPodAutoscaler",
                                "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule", "PodMonitor", "Gateway",
                                "Telemetry", "Job"},
    "mesh-only": MESH_KINDS | {"Deployment", "Service", "ConfigMap", "Gateway", "Telemetry"},
}


def namespace(profile: str) -> str:
    return f"mkt-{profile}"


def render(helm, profile: str, *extra: str) -> list[dict]:
    """`helm template` of a profile into its own namespace (extra: more --set/-f arguments)."""
    result = run_helm(helm, "template", RELEASE, str(CHART), "--namespace", namespace(profile), *PROFILES[profile],
                      *extra)
    assert result.returncode == 0, f"helm template ({profile} {' '.join(extra)}) failed:\n{result.stderr}"
    return load_all(result.stdout)


def create_namespace(api, name: str) -> None:
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, FIELD_MANAGER)


def refused(outcome: dict) -> dict[str, str]:
    return {key: f"{error.status} {error.message}" for key, error in outcome.items() if isinstance(error, KubeAPIError)}


@pytest.fixture(scope="module")
def applied(kube, helm):
    """profile -> (the objects rendered, "Kind/name" -> the server's answer or its refusal); each profile applied
    once into its namespace."""
    results = {}
    for profile in PROFILES:
        objects = render(helm, profile)
        create_namespace(kube.api, namespace(profile))
        results[profile] = objects, kube.api.apply_all(objects, FIELD_MANAGER)
    return results


def on_server(api, objects: list[dict], ns: str) -> Counter:
    """Per kind, how many of `objects` the server now holds (listed back, by name)."""
    held = Counter()
    names_by_kind: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        names_by_kind.setdefault((obj["apiVersion"], obj["kind"]), set()).add(obj["metadata"]["name"])
    for (api_version, kind), names in names_by_kind.items():
        listed = {item["metadata"]["name"] for item in api.items(api_version, kind, ns)}
        held[kind] += len(names & listed)
    return held


# -- every object accepted ------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_object_is_accepted_server_side(kube, applied, profile):
    objects, outcome = applied[profile]
    assert objects
    assert refused(outcome) == {}
    rendered_kinds = Counter(obj["kind"] for obj in objects)
    held = on_server(kube.api, objects, namespace(profile))
    assert held == rendered_kinds, "some objects were accepted but are not listed back"
    missing = {kind for kind in REQUIRED_KINDS[profile] if held[kind] == 0}
    assert not missing, f"{profile}: no {sorted(missing)} applied (held: {dict(held)})"
    for obj in objects:
        answer = outcome[f"{obj['kind']}/{obj['metadata']['name']}"]
        managers = {entry["manager"] for entry in answer["metadata"].get("managedFields", [])}
        assert FIELD_MANAGER in managers, describe(obj)


def test_the_autoscalers_raise_their_deployments_to_min_replicas(kube, applied):
    """production: the Deployments have no `replicas` (the HPAs own it); the HPA controller scales each to
    its minReplicas, without any metrics (there is no metrics server)."""
    objects, _ = applied["production"]
    hpas = [obj for obj in objects if obj["kind"] == "HorizontalPodAutoscaler"]
    deployments = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "Deployment"}
    assert hpas
    for hpa in hpas:
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and "replicas" not in deployments[target["name"]]["spec"]
        path = kube.api.path(deployments[target["name"]])
        minimum = hpa["spec"]["minReplicas"]
        kube.api.wait_for(f"{target['name']} scaled to {minimum} by its HPA",
                          lambda: kube.api.get(path)["spec"]["replicas"] == minimum, timeout=60)


def test_reapplying_a_fresh_render_changes_nothing(kube, applied, helm):
    """A second `helm template` applied over what the server holds changes no object (nothing random or
    dated in the chart, nothing the server rewrites on each apply, and no apply takes back the replicas
    an HPA set): the generation (which moves with the spec, not with the controllers' status writes) or,
    for kinds without one (ConfigMap, Service, ServiceAccount, which no controller writes), the
    resourceVersion."""
    profile = "production"
    objects, _ = applied[profile]
    test_the_autoscalers_raise_their_deployments_to_min_replicas(kube, applied)  # the HPAs have acted
    before = {f"{obj['kind']}/{obj['metadata']['name']}": kube.api.get(kube.api.path(obj))["metadata"]
              for obj in objects}
    again = kube.api.apply_all(render(helm, profile), FIELD_MANAGER)
    assert refused(again) == {}
    assert set(again) == set(before)
    changed = []
    for key, answer in again.items():
        old, new = before[key], answer["metadata"]
        field = "generation" if "generation" in new else "resourceVersion"
        if old[field] != new[field]:
            changed.append(f"{key}: {field} {old[field]} -> {new[field]}")
    assert changed == []


# -- what the server refuses ----------------------------------------------------------------------------------


def test_a_values_change_the_server_refuses_is_reported_with_its_message(kube, helm):
    """autoscaling.minReplicas above maxReplicas renders (the chart does not check it), but each
    HorizontalPodAutoscaler where it ends up so is refused by the API server's validation, with its reason
    (a service with a maxReplicas of its own, audience's 20, keeps a valid one and is accepted)."""
    objects = render(helm, "production", *(f"--set={block}.autoscaling.{key}={value}"
                                           for block in ("serviceDefaults", "edge")
                                           for key, value in (("minReplicas", 12), ("maxReplicas", 4))))
    hpas = [obj for obj in objects if obj["kind"] == "HorizontalPodAutoscaler"]
    inverted = [hpa for hpa in hpas if hpa["spec"]["minReplicas"] > hpa["spec"]["maxReplicas"]]
    assert len(hpas) == 7 and len(inverted) >= 6, [describe(hpa) for hpa in inverted]  # the services' and the edge's
    for hpa in hpas:
        if hpa not in inverted:
            kube.api.apply(hpa, FIELD_MANAGER, dry_run=True)
            continue
        with pytest.raises(KubeAPIError) as refusal:
            kube.api.apply(hpa, FIELD_MANAGER, dry_run=True)
        assert refusal.value.status == 422, refusal.value
        assert "spec.maxReplicas" in refusal.value.message
        assert "must be greater than or equal to `minReplicas`" in refusal.value.message


def _first(objects: list[dict], kind: str, predicate=lambda obj: True) -> dict:
    return copy.deepcopy(next(obj for obj in objects if obj["kind"] == kind and predicate(obj)))


def _route_timeout(obj: dict, value: str) -> dict:
    obj["spec"]["http"][0]["timeout"] = value
    return obj


def _retry_timeout(obj: dict, value: str) -> dict:
    route = next(route for route in obj["spec"]["http"] if "retries" in route)
    route["retries"]["perTryTimeout"] = value
    return obj


def _outlier_interval(obj: dict, value: str) -> dict:
    obj["spec"]["trafficPolicy"]["outlierDetection"]["interval"] = value
    return obj


def _service_accounts_with_principals(obj: dict) -> dict:
    source = next(f["source"] for rule in obj["spec"]["rules"] for f in rule.get("from", [])
                  if "principals" in f.get("source", {}))
    source["serviceAccounts"] = ["campaign"]
    return obj


def _port_mtls_without_selector(obj: dict) -> dict:
    del obj["spec"]["selector"]
    return obj


# (what, kind, which object, the edit, the CEL rule's message)
CEL_BREAKS = [
    ("route timeout below 1ms", "VirtualService", lambda o: True, lambda o: _route_timeout(o, "999us"),
     "must be a valid duration greater than 1ms"),
    ("retry per-try timeout below 1ms", "VirtualService", lambda o: any("retries" in r for r in o["spec"]["http"]),
     lambda o: _retry_timeout(o, "500us"), "must be a valid duration greater than 1ms"),
    ("outlier detection interval 0s", "DestinationRule",
     lambda o: "outlierDetection" in o["spec"].get("trafficPolicy", {}), lambda o: _outlier_interval(o, "0s"),
     "must be a valid duration greater than 1ms"),
    ("serviceAccounts beside principals", "AuthorizationPolicy",
     lambda o: any("principals" in f.get("source", {}) for r in o["spec"].get("rules", []) for f in r.get("from", [])),
     _service_accounts_with_principals, "Cannot set serviceAccounts with namespaces or principals"),
    ("port-level mTLS without a selector", "PeerAuthentication", lambda o: "portLevelMtls" in o["spec"],
     _port_mtls_without_selector, "portLevelMtls requires selector"),
]


@pytest.mark.parametrize("what, kind, which, edit, message", CEL_BREAKS, ids=[c[0] for c in CEL_BREAKS])
def test_an_edit_breaking_an_istio_cel_rule_is_refused_with_its_message(kube, applied, what, kind, which, edit,
                                                                       message):
    objects, _ = applied["production"]
    original = _first(objects, kind, which)
    kube.api.apply(original, FIELD_MANAGER, dry_run=True)  # as rendered: accepted
    with pytest.raises(KubeAPIError) as refusal:
        kube.api.apply(edit(copy.deepcopy(original)), FIELD_MANAGER, dry_run=True)
    assert refusal.value.status == 422, refusal.value
    assert message in refusal.value.message, refusal.value.message


def test_the_policy_and_istio_agree_on_the_shortest_duration(kube, applied):
    """mesh/policy.yaml refuses a duration below 1ms, the bound of Istio's CEL rules: a policy with a 1ms
    connect timeout renders a DestinationRule the server accepts, 0ms is refused by the policy itself,
    and the same DestinationRule below 1ms by the server."""
    document = yaml.safe_load(POLICY_FILE.read_text())
    document["defaults"]["connection_pool"]["connect_timeout"] = "0ms"
    with pytest.raises(PolicyError, match="connect_timeout"):
        parse(document)
    document["defaults"]["connection_pool"]["connect_timeout"] = "1ms"
    rules = [obj for obj in istio.render(parse(document), namespace("production")) if obj["kind"] == "DestinationRule"]
    assert rules
    for rule in rules:
        assert rule["spec"]["trafficPolicy"]["connectionPool"]["tcp"]["connectTimeout"] == "1ms"
        kube.api.apply(rule, FIELD_MANAGER, dry_run=True)
    below = copy.deepcopy(rules[0])
    below["spec"]["trafficPolicy"]["connectionPool"]["tcp"]["connectTimeout"] = "999us"
    with pytest.raises(KubeAPIError, match="must be a valid duration greater than 1ms"):
        kube.api.apply(below, FIELD_MANAGER, dry_run=True)
