"""istiod (pilot-discovery, built from istio.io/istio) reading the chart's Istio objects from the session's
API server, and the Envoy configuration it generates for each workload checked against mesh/policy.yaml.

The mesh-only profile is applied into a namespace of its own (mkt-istiod); the controller manager makes
each Deployment's pods (Pending: no kubelet). istiod is started on the running control plane and lists
the services and the policy objects in its debug endpoints. Then, for each workload, a small ADS client
(tests/deploy/xds.py) connects as the sidecar of one of its pods (node id
`sidecar~10.0.0.1~<pod>.<ns>~<ns>.svc.cluster.local`, the pod's labels and service account in the node
metadata), receives clusters, listeners and routes, and istiod's `/debug/config_dump` for that proxy
shows them as JSON:

* outbound: a cluster per service the policy lets the workload call and none for the others (the
  Sidecar's egress), each with Istio mutual TLS, the policy's connect timeout, connection limits,
  retry budget and outlier detection; the routes with the policy's timeouts and retries per method;
* inbound: mutual TLS required on the gRPC port (STRICT: no plaintext filter chain), plaintext allowed on
  the metrics port (PERMISSIVE, for Prometheus), and the RBAC filter allowing exactly the principals of
  the callers the policy declares.

The same answers are compared with the local sidecars' Envoy configs (mesh/envoy.py, tests/deploy/
mesh_compare.py): reachability, mTLS and the allowed callers must agree; every other difference is listed
in EXPLAINED with its reason (helm/README.md), and all are printed as a table in the run's summary.

`istioctl analyze` (built from the same module) runs on each profile's rendered objects (no finding) and
against the cluster (only what a control plane without Istio's installation lacks, explained below)."""

from __future__ import annotations

import re
import subprocess

import pytest
import requests

from mesh.edge_kubernetes import EDGE_METRICS_PORT
from mesh.edge_kubernetes import settings as edge_settings
from mesh.istio import EDGE
from mesh.istio import _route_name as route_name  # the VirtualService's route names, as rendered
from tests.conftest import _unavailable
from tests.deploy.conftest import CHART, PROFILES, RELEASE, run_helm
from tests.deploy import mesh_compare
from tests.deploy.manifests import load_all
from tests.deploy.xds import CLUSTER, LISTENER, ROUTE, SidecarStream, route_configurations

NAMESPACE = "mkt-istiod"
FIELD_MANAGER = "mkt-tests"
ISTIO_PROXY_VERSION = "1.30.3"  # what the sidecars of this Istio would report
TIMEOUT = 60.0
INGRESS_HOST = "marketing-istiod.example.com"


@pytest.fixture(scope="module")
def istiod(kube, helm):
    """The mesh-only profile applied into NAMESPACE, its pods made, and istiod started (stopped at the end)."""
    from devstack.servers.kube import KubeUnavailable

    api = kube.api
    api.apply({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": NAMESPACE, "labels": {"istio-injection": "enabled"}}}, FIELD_MANAGER)
    # A host of its own for the ingress Gateway: other tests apply the chart into other namespaces of this
    # cluster with the default host "*", and two Gateways on the same gateway workload, port and host
    # conflict (istioctl analyze: IST0145), as two releases in one mesh would.
    result = run_helm(helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *PROFILES["mesh-only"],
                      "--set", f"mesh.ingress.hosts={{{INGRESS_HOST}}}")
    assert result.returncode == 0, result.stderr
    objects = load_all(result.stdout)
    outcome = api.apply_all(objects, FIELD_MANAGER)
    assert {key: str(answer) for key, answer in outcome.items() if isinstance(answer, Exception)} == {}
    try:
        kube.start_istiod()
    except KubeUnavailable as error:
        _unavailable("istiod", str(error))
    try:
        yield objects
    finally:
        kube.stop_istiod()


@pytest.fixture(scope="module")
def dumps(kube, istiod, policy):
    """dumps(workload) -> config_dump(...) of that workload with the routes to each of its callees, asked for
    once per module (the policy test and the comparison with the local sidecars read the same answer)."""
    cache: dict[str, dict] = {}

    def dump(workload: str) -> dict:
        if workload not in cache:
            callees = policy.services if workload == EDGE else policy.callees(workload)
            cache[workload] = config_dump(kube, workload, sorted({str(c.spec.grpc_port) for c in callees}))
        return cache[workload]

    return dump


def pod_of(api, workload: str) -> dict:
    def found():
        pods = [pod for pod in api.items("v1", "Pod", NAMESPACE) if pod["metadata"]["labels"].get("app") == workload]
        return pods[0] if pods else None

    return api.wait_for(f"a pod of {workload}", found, TIMEOUT)


def config_dump(kube, workload: str, route_names: list[str]) -> dict:
    """What istiod generated for a sidecar of `workload`: {"clusters": {name: cluster}, "listeners": {name:
    listener}, "routes": {name: route configuration}}, from /debug/config_dump while the proxy is connected."""
    pod = pod_of(kube.api, workload)
    name = pod["metadata"]["name"]
    metadata = {"NAMESPACE": NAMESPACE, "LABELS": pod["metadata"]["labels"], "ISTIO_VERSION": ISTIO_PROXY_VERSION,
                "CLUSTER_ID": "Kubernetes", "SERVICE_ACCOUNT": pod["spec"]["serviceAccountName"],
                "WORKLOAD_NAME": workload, "INTERCEPTION_MODE": "REDIRECT", "MESH_ID": "cluster.local"}
    node_id = f"sidecar~10.0.0.1~{name}.{NAMESPACE}~{NAMESPACE}.svc.cluster.local"
    with SidecarStream(kube.istiod_grpc_address, node_id, metadata, timeout=TIMEOUT) as stream:
        stream.wait_for(CLUSTER, LISTENER)
        answer = requests.get(f"{kube.istiod_http_url}/debug/config_dump",
                              params={"proxyID": f"{name}.{NAMESPACE}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        dump = _index(answer.json())
        if route_names:  # the config dump leaves routes out: asked for and decoded here
            stream.request(ROUTE, tuple(route_names))
            dump["routes"] = route_configurations(stream.wait_received(ROUTE)[ROUTE])
        return dump


def _index(dump: dict) -> dict:
    out: dict[str, dict] = {"clusters": {}, "listeners": {}, "routes": {}}  # routes: never there, so far
    for config in dump["configs"]:
        kind = config["@type"].rsplit(".", 1)[-1]
        if kind == "ClustersConfigDump":
            for entry in config.get("dynamicActiveClusters", []):
                out["clusters"][entry["cluster"]["name"]] = entry["cluster"]
        elif kind == "ListenersConfigDump":
            for entry in config.get("dynamicListeners", []):
                listener = entry.get("activeState", {}).get("listener")
                if listener:
                    out["listeners"][listener["name"]] = listener
        elif kind == "RoutesConfigDump":
            for entry in config.get("dynamicRouteConfigs", []):
                out["routes"][entry["routeConfig"]["name"]] = entry["routeConfig"]
    return out


def _walk(node, key: str):
    """Every value under `key`, anywhere in a JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _walk(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key)


def _workloads(policy) -> list[str]:
    return [service.name for service in policy.services] + [EDGE]


def _ports(policy, workload: str) -> tuple[int, int]:
    if workload == EDGE:
        return edge_settings().port, EDGE_METRICS_PORT
    spec = policy.service(workload).spec
    return spec.grpc_port, spec.metrics_port


def _grants(policy, workload: str):
    return policy.edge.grants if workload == EDGE else policy.service(workload).grants


# -- istiod reads the objects ---------------------------------------------------------------------------------


def test_istiod_lists_every_service_and_policy_object(kube, istiod, policy):
    objects = istiod
    wanted = {(obj["kind"], obj["metadata"]["name"]) for obj in objects
              if obj["apiVersion"].split("/")[0].endswith("istio.io")}

    def configs():
        answer = requests.get(f"{kube.istiod_http_url}/debug/configz", timeout=10).json()
        held = {(c["kind"], c["metadata"]["name"]) for c in answer if c["metadata"].get("namespace") == NAMESPACE}
        return held if wanted <= held else None

    kube.api.wait_for("istiod holds every Istio object of the chart", configs, TIMEOUT)
    registry = requests.get(f"{kube.istiod_http_url}/debug/registryz", timeout=10).json()
    hosts = {service["hostname"] for service in registry}
    for workload in _workloads(policy):
        assert f"{workload}.{NAMESPACE}.svc.cluster.local" in hosts


# -- what istiod makes of the policy, per workload ---------------------------------------------------------------


@pytest.mark.parametrize("workload", ["campaign", "audience", "content", "analytics", "notify", "integrations", EDGE])
def test_istiod_configures_each_workload_as_the_policy_says(dumps, policy, workload):
    assert workload in _workloads(policy)
    callees = policy.services if workload == EDGE else policy.callees(workload)
    dump = dumps(workload)
    differences: list[str] = []

    # Outbound: the callees' clusters and no other service's (the Sidecar's egress).
    outbound = {name for name in dump["clusters"] if name.startswith("outbound|")}
    expected = {f"outbound|{c.spec.grpc_port}||{c.host(NAMESPACE)}" for c in callees}
    if not expected <= outbound:
        differences.append(f"missing outbound clusters: {sorted(expected - outbound)}")
    others = {s.host(NAMESPACE) for s in policy.services if s not in callees} | \
        ({f"{EDGE}.{NAMESPACE}.svc.cluster.local"} if workload != EDGE else set())
    reachable = sorted(name for name in outbound if name.rsplit("|", 1)[-1] in others)
    if reachable:
        differences.append(f"clusters of services the policy does not let {workload} call: {reachable}")

    for callee in callees:
        cluster = dump["clusters"].get(f"outbound|{callee.spec.grpc_port}||{callee.host(NAMESPACE)}")
        if cluster is None:
            continue
        pool, outliers = callee.connection_pool, callee.outlier_detection
        budget = callee.default_route.retries.max_outstanding
        want = {
            "connectTimeout": pool.connect_timeout.proto(),
            "thresholds": {"maxConnections": pool.max_connections, "maxPendingRequests": pool.max_pending_requests,
                           "maxRequests": pool.max_requests, "maxRetries": budget},
            "outlierDetection": {"consecutiveGatewayFailure": outliers.consecutive_gateway_errors,
                                 "consecutive5xx": outliers.consecutive_5xx_errors,
                                 "interval": outliers.interval.proto(),
                                 "baseEjectionTime": outliers.base_ejection_time.proto(),
                                 "maxEjectionPercent": outliers.max_ejection_percent},
            "tls": "envoy.transport_sockets.tls",
        }
        thresholds = (cluster.get("circuitBreakers", {}).get("thresholds") or [{}])[0]
        have = {
            "connectTimeout": cluster.get("connectTimeout"),
            "thresholds": {key: thresholds.get(key) for key in want["thresholds"]},
            "outlierDetection": {key: cluster.get("outlierDetection", {}).get(key) for key in want["outlierDetection"]},
            "tls": cluster.get("transportSocket", {}).get("name"),
        }
        for key in want:
            if have[key] != want[key]:
                differences.append(f"{callee.name} cluster {key}: policy {want[key]}, istiod {have[key]}")

        # Routes: per method where the policy says so, then the default; timeouts and retries.
        config = dump["routes"].get(str(callee.spec.grpc_port))
        virtual_host = f"{callee.host(NAMESPACE)}:{callee.spec.grpc_port}"
        hosts = [vh for vh in (config or {}).get("virtualHosts", []) if vh.get("name") == virtual_host]
        if not hosts:
            differences.append(f"no route for {callee.name} (route configuration {callee.spec.grpc_port})")
            continue
        routes = {route.get("name"): route for route in hosts[0].get("routes", [])}
        for route in callee.routes:
            name = route_name(route, callee.name)
            got = routes.get(name)
            if got is None:
                differences.append(f"{callee.name} route {name}: missing (istiod has {sorted(routes)})")
                continue
            action = got.get("route", {})
            retry = action.get("retryPolicy", {})
            want_route = {"timeout": route.timeout.proto(), "numRetries": route.retries.attempts}
            have_route = {"timeout": action.get("timeout"), "numRetries": retry.get("numRetries", 0)}
            if route.retries.attempts:
                want_route |= {"perTryTimeout": route.retries.per_try_timeout.proto(),
                               "retryOn": set(route.retries.on)}
                have_route |= {"perTryTimeout": retry.get("perTryTimeout"),
                               "retryOn": set(retry.get("retryOn", "").split(","))}
            if have_route != want_route:
                differences.append(f"{callee.name} route {name}: policy {want_route}, istiod {have_route}")

    # Inbound: mTLS required on the service port, plaintext allowed on the metrics port, RBAC by principal.
    port, metrics_port = _ports(policy, workload)
    inbound = dump["listeners"].get("virtualInbound", {})
    chains = [chain for chain in inbound.get("filterChains", [])
              if chain.get("filterChainMatch", {}).get("destinationPort") == port]
    if not chains:
        differences.append(f"no inbound filter chain for port {port}")
    plaintext = [c for c in chains if c["filterChainMatch"].get("transportProtocol") != "tls"]
    if plaintext:
        differences.append(f"port {port} accepts plaintext (mTLS not STRICT): {[c.get('name') for c in plaintext]}")
    metrics_chains = [chain for chain in inbound.get("filterChains", [])
                      if chain.get("filterChainMatch", {}).get("destinationPort") == metrics_port]
    if not any(c["filterChainMatch"].get("transportProtocol") != "tls" for c in metrics_chains):
        differences.append(f"the metrics port {metrics_port} refuses plaintext (Prometheus outside the mesh)")
    allowed = {f"spiffe://{policy.principal(grant.caller, NAMESPACE)}" for grant in _grants(policy, workload)}
    for chain in chains:
        rbac = [f for group in _walk(chain, "httpFilters") for f in group if f.get("name") == "envoy.filters.http.rbac"]
        allow = [f for f in rbac if f.get("typedConfig", {}).get("rules", {}).get("action", "ALLOW") == "ALLOW"]
        principals = {value["exact"] for f in allow for value in _walk(f, "principalName") if "exact" in value}
        if principals != allowed:
            differences.append(f"port {port} ({chain.get('name')}) allows {sorted(principals)}, the policy "
                               f"{sorted(allowed)}")

    print(f"\n{workload}: {len(outbound)} outbound clusters, {len(chains)} inbound chains on {port}; "
          f"differences from the policy: {differences or 'none'}")
    assert differences == []



# -- the local sidecars against istiod ----------------------------------------------------------------------------

# (workload, fact) patterns -> why the local sidecar and istiod differ there (docs/known-gaps.md, "Local sidecars
# and istiod"). Policy facts (reachability, mTLS, callers) may not be listed, except for the edge's inbound side.
EXPLAINED: dict[tuple[str, str], str] = {
    ("*", "*.peer-identity"): "istiod names a callee's accepted identities from its endpoints' service accounts; "
                              "pods without a kubelet have no address, so none (any mesh certificate)",
    ("*", "reach.other-ports"): "Istio's Sidecar egress admits a callee's host on every port (its metrics port, "
                                "open to any caller for GET /metrics); the local sidecar proxies the gRPC port only",
    ("*", "inbound.metrics"): "both take plaintext scrapes: Istio PERMISSIVE on the metrics port; locally the "
                              "metrics port is not behind the sidecar",
    (EDGE, "*.route[path:*]"): "the edge's own Envoy bounds every deadline by its route timeout (30 s) on "
                               "both sides; in Kubernetes the longer VirtualService timeout is on its sidecar",
    (EDGE, "inbound.mtls"): "locally the edge is the public entry point (plaintext, JWT); in Kubernetes only "
                            "the ingress gateway reaches it, with mTLS",
    (EDGE, "callers.ingress-gateway"): "the ingress gateway exists only in Kubernetes (policy edge.callers)",
}


@pytest.mark.parametrize("workload", ["campaign", "audience", "content", "analytics", "notify", "integrations", EDGE])
def test_local_sidecars_enforce_what_istiod_would(dumps, policy, workload, tmp_path_factory):
    port, metrics_port = _ports(policy, workload)
    local = mesh_compare.local_facts(policy, workload, tmp_path_factory.mktemp("mesh-state"))
    istio = mesh_compare.istiod_facts(policy, workload, dumps(workload), NAMESPACE, port, metrics_port)
    rows = mesh_compare.compare(workload, local, istio, EXPLAINED)
    mesh_compare.COMPARED[workload] = rows
    mesh_compare.COMPARED_FACTS[workload] = len(set(local) | set(istio))
    print("\n" + mesh_compare.table({workload: rows}))
    assert len(local) > 10 and local.keys() & istio.keys() >= {"reach", "inbound.mtls"}
    unexplained = [row for row in rows if row[3] != "explained"]
    assert unexplained == [], "\n" + mesh_compare.table({workload: unexplained})


# -- istioctl analyze ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def istioctl():
    from devstack.tools import controlplanes

    binary = controlplanes.installed("istioctl")
    if binary is None:
        try:
            binary = controlplanes.ensure_installed("istioctl")["istioctl"]
        except controlplanes.ControlPlaneUnavailable as error:
            _unavailable("istioctl", str(error))
    return binary


def analyze(istioctl, *args: str) -> tuple[int, list[tuple[str, str, str]], str]:
    """`istioctl analyze ARGS`: its exit code, the (level, code, resource) of each message, and its output."""
    result = subprocess.run([str(istioctl), "analyze", *args], capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    found = re.findall(r"^(Error|Warning|Info) \[(IST\d+)\] \(([^)]*)\)", result.stdout, re.MULTILINE)
    return result.returncode, found, result.stdout + result.stderr


@pytest.mark.parametrize("profile", list(PROFILES))
def test_istioctl_analyze_finds_nothing_in_the_rendered_chart(istioctl, helm, tmp_path, profile):
    """Offline (no cluster): every analyzer on the objects of each values file."""
    result = run_helm(helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *PROFILES[profile])
    assert result.returncode == 0, result.stderr
    rendered = tmp_path / f"{profile}.yaml"
    rendered.write_text(result.stdout)
    code, found, output = analyze(istioctl, "--use-kube=false", f"--namespace={NAMESPACE}", str(rendered))
    assert (code, found) == (0, []), output
    assert "No validation issues found" in output


def test_istioctl_analyze_on_the_cluster_finds_only_what_this_cluster_lacks(kube, istiod, istioctl):
    """Against the API server, with the applied objects and the pods the controllers made. Istio's
    installation would bring its ingress gateway (the Gateway's selector istio=ingressgateway) and the
    gateway's Service (port 80): a stand-in Deployment and Service take their place here. What remains is
    IST0103 on every pod, "missing the Istio proxy": no injection webhook runs on this control plane (pods
    are never started either)."""
    api = kube.api
    api.apply({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"istio": "ingressgateway"}},
                        "template": {
                            "metadata": {"labels": {"istio": "ingressgateway", "app": "istio-ingressgateway"}},
                            "spec": {"containers": [{"name": "istio-proxy", "image": "istio/proxyv2"}]}}}},
              FIELD_MANAGER)
    api.apply({"apiVersion": "v1", "kind": "Service",  # as Istio's default profile installs it
               "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
               "spec": {"selector": {"istio": "ingressgateway"},
                        "ports": [{"name": "http2", "port": 80, "targetPort": 8080},
                                  {"name": "https", "port": 443, "targetPort": 8443}]}}, FIELD_MANAGER)
    api.wait_for("the stand-in ingress gateway's pod", lambda: [
        pod for pod in api.items("v1", "Pod", "istio-system")
        if pod["metadata"]["labels"].get("istio") == "ingressgateway"], TIMEOUT)

    def injected(pod: dict) -> bool:  # the dev store's pod opts out (sidecar.istio.io/inject: "false")
        metadata = pod["metadata"]
        marks = {**metadata.get("annotations", {}), **metadata.get("labels", {})}
        return marks.get("sidecar.istio.io/inject") != "false"

    pods = {f"Pod {NAMESPACE}/{pod['metadata']['name']}" for pod in api.items("v1", "Pod", NAMESPACE) if injected(pod)}
    assert len(pods) == 7  # the six services' and the edge's
    code, found, output = analyze(istioctl, f"--kubeconfig={kube.kubeconfig}", "--istioNamespace=istio-system",
                                  f"--namespace={NAMESPACE}")
    unexplained = [entry for entry in found if entry[:2] != ("Warning", "IST0103")]
    assert unexplained == [], output
    assert {resource for _, _, resource in found} == pods, output
