"""Renders the policy (mesh/policy.py) to Istio objects.

Namespace-wide: PeerAuthentication `default` (STRICT mTLS), AuthorizationPolicy `deny-by-default`
(allow-nothing: a workload no policy names answers nothing), Telemetry `default` (trace sampling).
Per service, and for the edge: a DestinationRule (ISTIO_MUTUAL, connection pool, outlier detection),
a VirtualService (timeouts and retries, per method where the policy says so), an AuthorizationPolicy
(the declared callers' principals and methods, and GET /metrics on the metrics port), a Sidecar
(egress scoped to the services it calls) and a PeerAuthentication that leaves the metrics port
PERMISSIVE for Prometheus. The ingress Gateway and the edge's VirtualService bound to it.

Workloads are selected by the `app` label, which the Helm chart puts on every pod.
"""

from __future__ import annotations

from mesh.edge_kubernetes import EDGE_METRICS_PORT
from mesh.edge_kubernetes import settings as edge_settings
from mesh.policy import ConnectionPool, Grant, OutlierDetection, Policy, Route

WORKLOAD_LABEL = "app"
EDGE = "edge"
GATEWAY = "marketing-gateway"
PART_OF = {"app.kubernetes.io/part-of": "marketing-platform", "app.kubernetes.io/component": "mesh"}
NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
TELEMETRY = "telemetry.istio.io/v1"
OTLP_PROVIDER = "otel-tracing"  # meshConfig.extensionProviders[].name of the OTLP collector


def render(policy: Policy, namespace: str | None = None) -> list[dict]:
    ns = namespace or policy.namespace
    edge_port = edge_settings().port
    objects = [
        _object(SECURITY, "PeerAuthentication", "default", ns, {"mtls": {"mode": "STRICT"}}),
        # An ALLOW policy with no rules: every workload of the namespace refuses what no other policy allows.
        _object(SECURITY, "AuthorizationPolicy", "deny-by-default", ns, {}),
        # The sidecars' spans go to the mesh's OpenTelemetry extension provider OTLP_PROVIDER, which the
        # Istio installation declares in meshConfig.extensionProviders (docs/observability.md, "Traces").
        _object(TELEMETRY, "Telemetry", "default", ns,
                {"tracing": [{"providers": [{"name": OTLP_PROVIDER}],
                              "randomSamplingPercentage": policy.trace_sampling_percent}]}),
    ]
    for service in policy.services:
        host = service.host(ns, policy.cluster_domain)
        port = service.spec.grpc_port
        objects += [
            _destination_rule(service.name, ns, host, service.connection_pool, service.outlier_detection,
                              service.default_route.retries.max_outstanding),
            _object(NETWORKING, "VirtualService", service.name, ns, {
                "hosts": [host],
                "http": [_http_route(route, host, port, service.name) for route in service.routes],
            }),
            _authorization(policy, service.name, ns, service.grants, port, service.spec.metrics_port),
            *_identity_header_policy(policy, service.name, ns),
            _metrics_peer_authentication(service.name, ns, service.spec.metrics_port),
            _sidecar(policy, service.name, ns),
        ]
    edge = policy.edge
    edge_host = f"{EDGE}.{ns}.svc.{policy.cluster_domain}"
    objects += [
        _destination_rule(EDGE, ns, edge_host, edge.connection_pool, edge.outlier_detection,
                          edge.route.retries.max_outstanding),
        _authorization(policy, EDGE, ns, edge.grants, edge_port, EDGE_METRICS_PORT),
        _metrics_peer_authentication(EDGE, ns, EDGE_METRICS_PORT),
        _sidecar(policy, EDGE, ns),
        _object(NETWORKING, "Gateway", GATEWAY, ns, {
            "selector": dict(policy.ingress.gateway_selector),
            "servers": [{"port": {"number": policy.ingress.port, "name": "http", "protocol": "HTTP"},
                         "hosts": list(policy.ingress.hosts)}],
        }),
        _object(NETWORKING, "VirtualService", EDGE, ns, {
            "hosts": list(policy.ingress.hosts),
            "gateways": [GATEWAY],
            "http": [_http_route(edge.route, edge_host, edge_port, EDGE)],
        }),
    ]
    return objects


def _object(api_version: str, kind: str, name: str, namespace: str, spec: dict, app: str | None = None) -> dict:
    labels = dict(PART_OF)
    if app:
        labels[WORKLOAD_LABEL] = app
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


def _selector(name: str) -> dict:
    return {"matchLabels": {WORKLOAD_LABEL: name}}


def _destination_rule(name: str, ns: str, host: str, pool: ConnectionPool, outliers: OutlierDetection,
                      max_retries: int) -> dict:
    return _object(NETWORKING, "DestinationRule", name, ns, {
        "host": host,
        "trafficPolicy": {
            "tls": {"mode": "ISTIO_MUTUAL"},
            "loadBalancer": {"simple": "LEAST_REQUEST"},  # gRPC multiplexes: balance by request, not connection
            "connectionPool": {
                "tcp": {"maxConnections": pool.max_connections, "connectTimeout": pool.connect_timeout.go()},
                "http": {"http2MaxRequests": pool.max_requests,
                         "http1MaxPendingRequests": pool.max_pending_requests,
                         "maxRetries": max_retries,
                         "idleTimeout": pool.idle_timeout.go()},
            },
            "outlierDetection": {
                "consecutiveGatewayErrors": outliers.consecutive_gateway_errors,
                "consecutive5xxErrors": outliers.consecutive_5xx_errors,
                "interval": outliers.interval.go(),
                "baseEjectionTime": outliers.base_ejection_time.go(),
                "maxEjectionPercent": outliers.max_ejection_percent,
            },
        },
    }, app=name)


def _http_route(route: Route, host: str, port: int, name: str) -> dict:
    http: dict = {"name": _route_name(route, name)}
    if route.methods:
        http["match"] = [{"uri": {"exact": method}} for method in route.methods]
    http["route"] = [{"destination": {"host": host, "port": {"number": port}}}]
    http["timeout"] = route.timeout.go()
    retries = route.retries
    if retries.attempts:
        http["retries"] = {"attempts": retries.attempts, "perTryTimeout": retries.per_try_timeout.go(),
                           "retryOn": retries.retry_on}
    else:
        http["retries"] = {"attempts": 0}
    return http


def _route_name(route: Route, name: str) -> str:
    if not route.methods:
        return "default"
    first = route.methods[0].rsplit("/", 1)[-1]
    more = len(route.methods) - 1
    return (f"{name}-{first}" if not more else f"{name}-{first}-and-{more}").lower()


def _authorization(policy: Policy, name: str, ns: str, grants: tuple[Grant, ...], port: int,
                   metrics_port: int) -> dict:
    rules = [{
        "from": [{"source": {"principals": [policy.principal(grant.caller, ns)]}}],
        "to": [{"operation": {"ports": [str(port)], "paths": list(grant.methods),
                              **({"notPaths": list(grant.excluded)} if grant.excluded else {})}}],
    } for grant in grants]
    # Prometheus (outside the mesh, no identity) reads the metrics port, nothing else.
    rules.append({"to": [{"operation": {"ports": [str(metrics_port)], "methods": ["GET"],
                                        "paths": list(policy.metrics_paths)}}]})
    return _object(SECURITY, "AuthorizationPolicy", name, ns,
                   {"selector": _selector(name), "action": "ALLOW", "rules": rules}, app=name)


def _identity_header_policy(policy: Policy, name: str, ns: str) -> list[dict]:
    """DENY the identity header from any caller but the one the policy names (the edge)."""
    if not policy.identity_header:
        return []
    return [_object(SECURITY, "AuthorizationPolicy", f"{name}-identity-header", ns, {
        "selector": _selector(name), "action": "DENY",
        "rules": [{"from": [{"source": {"notPrincipals": [policy.principal(policy.identity_sender, ns)]}}],
                   "when": [{"key": f"request.headers[{policy.identity_header}]", "values": ["*"]}]}],
    }, app=name)]


def _metrics_peer_authentication(name: str, ns: str, metrics_port: int) -> dict:
    return _object(SECURITY, "PeerAuthentication", f"{name}-metrics", ns, {
        "selector": _selector(name),
        "mtls": {"mode": "STRICT"},
        "portLevelMtls": {str(metrics_port): {"mode": "PERMISSIVE"}},
    }, app=name)


def _sidecar(policy: Policy, caller: str, ns: str) -> dict:
    callees = policy.services if caller == EDGE else policy.callees(caller)
    hosts = [f"./{callee.host(ns, policy.cluster_domain)}" for callee in callees]
    return _object(NETWORKING, "Sidecar", caller, ns, {
        "workloadSelector": {"labels": {WORKLOAD_LABEL: caller}},
        "egress": [{"hosts": [*hosts, "istio-system/*"]}],
        # Data stores (PostgreSQL, MongoDB, ClickHouse, Pulsar, the OTLP collector) are not in
        # `hosts`; their traffic leaves as plain TCP. Mesh services outside `hosts` are
        # unreachable all the same: their sidecars accept mTLS from declared callers only.
        "outboundTrafficPolicy": {"mode": "ALLOW_ANY"},
    }, app=caller)
