"""The edge's Envoy config for Kubernetes: edge/envoy_config.py's, adapted to pods.

The same transcoder, routes and local replies as under `make run`; what changes in a pod:

* each service is reached by its Service name (`campaign`, resolved in the pod's namespace):
  STRICT_DNS clusters, and the `:authority` rewritten to `campaign:50051` so that an Istio
  sidecar routes the call to that service (and applies its DestinationRule and VirtualService);
* the listener binds 0.0.0.0; the admin interface stays on 127.0.0.1;
* an `ops` listener on EDGE_METRICS_PORT exposes only the admin's /ready (probes) and
  /stats/prometheus (the ServiceMonitor), never the rest of the admin API;
* loopback listeners 127.0.0.1:<service gRPC port> forward to each service, so the /healthz
  aggregator (edge/healthz.py, a second container in the pod) checks them as it does locally;
* the descriptor set is the one in the platform image (DESCRIPTOR_PATH);
* the ingress gateway in front is a trusted X-Forwarded-For hop (the client's address in audit records).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import PurePosixPath

from edge import envoy_config
from edge.settings import load_edge_settings

from mesh.policy import Policy

DESCRIPTOR_PATH = "/app/marketing/api_descriptor.pb"
CONFIG_PATH = "/etc/edge/envoy.yaml"
EDGE_METRICS_PORT = 9107
ADMIN_CLUSTER = "edge_admin"
INGRESS_HOPS = 1  # proxies in front of the edge that append the client's address to X-Forwarded-For
_HTTP_MANAGER = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


def settings():
    """The edge's ports (edge/settings.py defaults) with upstreams named as Kubernetes Services."""
    base = load_edge_settings({"MKT_BIND_HOST": "0.0.0.0"})
    # JWTs from the identity provider named in the Helm values (auth.jwksUrl, auth.issuer,
    # auth.audience): the chart's template puts them in place of these placeholders.
    return dataclasses.replace(base, upstreams=tuple(dataclasses.replace(u, host=u.spec.name)
                                                     for u in base.upstreams),
                               jwks_url=JWKS_URL_PLACEHOLDER, jwt_issuer=ISSUER_PLACEHOLDER,
                               jwt_audience=AUDIENCE_PLACEHOLDER)


JWKS_HOST_PLACEHOLDER = "jwks.placeholder.invalid"
JWKS_URL_PLACEHOLDER = f"https://{JWKS_HOST_PLACEHOLDER}/.well-known/jwks.json"
ISSUER_PLACEHOLDER = "__MKT_AUTH_JWT_ISSUER__"
AUDIENCE_PLACEHOLDER = "__MKT_AUTH_JWT_AUDIENCE__"


def render(policy: Policy) -> dict:
    edge = settings()
    config = envoy_config.render(edge, descriptor_set=PurePosixPath(DESCRIPTOR_PATH))  # type: ignore[arg-type]
    by_name = {u.spec.name: u for u in edge.upstreams}
    # Clusters by DNS name, and the service's authority on every call.
    for cluster in config["static_resources"]["clusters"]:
        if cluster["name"] in by_name:
            cluster["type"] = "STRICT_DNS"
            cluster["dns_lookup_family"] = "V4_PREFERRED"
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    # Behind the ingress gateway: the client's address is the one the gateway appended to X-Forwarded-For.
    manager["xff_num_trusted_hops"] = INGRESS_HOPS
    for route in manager["route_config"]["virtual_hosts"][0]["routes"]:
        target = route.get("route", {}).get("cluster")
        if target in by_name:
            route["route"]["host_rewrite_literal"] = _authority(by_name[target])
    config["static_resources"]["clusters"].append(_static_cluster(ADMIN_CLUSTER, "127.0.0.1", edge.admin_port))
    ops_routes = [{"match": {"path": path}, "route": {"cluster": ADMIN_CLUSTER, "timeout": "5s"}}
                  for path in ("/ready", "/stats/prometheus")]
    ops_routes.append({"match": {"prefix": "/"}, "direct_response": {"status": 404}})
    config["static_resources"]["listeners"].append(_listener("ops", "0.0.0.0", EDGE_METRICS_PORT, ops_routes,
                                                             codec="HTTP1"))
    for service in policy.services:
        upstream = by_name[service.name]
        config["static_resources"]["listeners"].append(_listener(
            f"loopback_{service.name}", "127.0.0.1", upstream.port,
            [{"match": {"prefix": "/"},
              "route": {"cluster": service.name, "timeout": "5s", "host_rewrite_literal": _authority(upstream)}}],
            codec="HTTP2"))
    return config


def _authority(upstream) -> str:
    return f"{upstream.host}:{upstream.port}"


def _static_cluster(name: str, host: str, port: int) -> dict:
    return {"name": name, "type": "STATIC", "connect_timeout": "1s",
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
                "address": {"socket_address": {"address": host, "port_value": port}}}}]}]}}


def _listener(name: str, host: str, port: int, routes: list[dict], codec: str) -> dict:
    manager = {
        "@type": f"type.googleapis.com/{_HTTP_MANAGER}",
        "stat_prefix": name,
        "codec_type": codec,
        "route_config": {"name": name, "virtual_hosts": [{"name": name, "domains": ["*"],
                                                          "routes": copy.deepcopy(routes)}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
    }
    return {"name": name, "address": {"socket_address": {"address": host, "port_value": port}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                            "typed_config": manager}]}]}
