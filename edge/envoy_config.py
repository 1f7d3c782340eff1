"""Renders the edge's Envoy bootstrap: REST (transcoded) and gRPC on one port.

    python -m edge.envoy_config > envoy.yaml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from svc_kit.services import SERVICES

from edge import auth as edge_auth
from edge import limits
from edge import tracing as edge_tracing
from edge.settings import EdgeSettings, Upstream, load_edge_settings

DESCRIPTOR_SET = Path(__file__).resolve().parent.parent / "marketing" / "api_descriptor.pb"
HEALTH_CLUSTER = "edge_health"
PUBLIC_PATHS = tuple({kind: path} for kind, path in edge_auth.PUBLIC_PATHS)  # as Envoy route matches

# gRPC code that stands for each HTTP status Envoy itself answers with, so its
# own replies have the same JSON shape as transcoded gRPC errors.
_LOCAL_REPLIES = (
    (400, 3, "INVALID_ARGUMENT", "%LOCAL_REPLY_BODY%"),
    (401, 16, "UNAUTHENTICATED", "%LOCAL_REPLY_BODY%"),
    (404, 5, "NOT_FOUND", "no API method at %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
    (405, 12, "UNIMPLEMENTED", "%LOCAL_REPLY_BODY%"),
    (413, 3, "INVALID_ARGUMENT", "request body larger than the edge accepts"),
    (429, 8, "RESOURCE_EXHAUSTED", limits.RATE_LIMITED_MESSAGE),
    (503, 14, "UNAVAILABLE", "%LOCAL_REPLY_BODY%"),
    (504, 4, "DEADLINE_EXCEEDED", "%LOCAL_REPLY_BODY%"),
)

# A service that answers a GET with a redirect (notify's TrackClick) sets the
# response header `x-redirect-location`; this turns it into `302 Found` with
# `Location`. One that answers a page with an error status (the audience
# service's page for a bad unsubscribe link) sets `x-http-status` (4xx only).
# Nothing else is touched.
REDIRECT_HEADER = "x-redirect-location"
STATUS_HEADER = "x-http-status"
REDIRECT_LUA = f"""
function envoy_on_response(handle)
  local headers = handle:headers()
  local location = headers:get("{REDIRECT_HEADER}")
  if location ~= nil then
    headers:replace(":status", "302")
    headers:replace("location", location)
    headers:remove("{REDIRECT_HEADER}")
  end
  local status = headers:get("{STATUS_HEADER}")
  if status ~= nil then
    if string.match(status, "^4%d%d$") then
      headers:replace(":status", status)
    end
    headers:remove("{STATUS_HEADER}")
  end
end
"""

ACCESS_LOG_FORMAT = {
    "time": "%START_TIME%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "grpc_method": "%REQ(:PATH)%",
    "status": "%RESPONSE_CODE%",
    "grpc_status": "%GRPC_STATUS%",
    "flags": "%RESPONSE_FLAGS%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "bytes_in": "%BYTES_RECEIVED%",
    "bytes_out": "%BYTES_SENT%",
    "duration_ms": "%DURATION%",
    # Microseconds from the first request byte to the last response byte, and
    # of the upstream exchange inside it: the difference is the edge's own time.
    "duration_us": "%COMMON_DURATION(DS_RX_BEG:DS_TX_END:us)%",
    "upstream_us": "%COMMON_DURATION(US_TX_BEG:US_RX_END:us)%",
    "upstream": "%UPSTREAM_CLUSTER%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "traceparent": "%REQ(TRACEPARENT)%",
    "user_agent": "%REQ(USER-AGENT)%",
}


def _any(type_name: str, **fields) -> dict:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def _cluster(name: str, host: str, port: int, http2: bool) -> dict:
    cluster = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                "socket_address": {"address": host, "port_value": port}}}}]}],
        },
    }
    if http2:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _any(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http2_protocol_options": {}},
            )
        }
    return cluster


# The client's address as Envoy trusts it (the TCP peer, or the address a fronting proxy put in
# x-forwarded-for), always overwritten: the services' audit records read it (svc_kit.audit).
def _client_address() -> dict:
    return {"header": {"key": "x-mkt-client-address", "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"},
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}


def _service_route(upstream: Upstream, auth: bool = True) -> dict:
    route = {
        "match": {"prefix": f"/{upstream.spec.grpc_service}/"},
        "route": {"cluster": upstream.spec.name, "timeout": "30s"},
    }
    if auth:
        route["request_headers_to_add"] = [edge_auth.anonymous_identity(), _client_address()]
    return route


def render(settings: EdgeSettings, descriptor_set: Path = DESCRIPTOR_SET, auth: bool = True) -> dict:
    """The edge's bootstrap. `auth=False` only for the benchmark's baseline: no JWT or key check."""
    transcoder = _any(
        "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
        proto_descriptor=str(descriptor_set),
        services=[spec.grpc_service for spec in SERVICES],
        convert_grpc_status=True,
        auto_mapping=False,
        request_validation_options={"reject_unknown_method": True, "reject_unknown_query_parameters": True},
        print_options={"always_print_primitive_fields": True, "preserve_proto_field_names": False},
    )
    clusters = {u.spec.grpc_service: u.spec.name for u in settings.upstreams}
    routes = [
        *({"match": dict(match), "route": {"cluster": HEALTH_CLUSTER, "timeout": "5s"},
           "typed_per_filter_config": {"envoy.filters.http.grpc_json_transcoder": _any(
               "envoy.config.route.v3.FilterConfig", disabled=True)}} for match in PUBLIC_PATHS),
        *(edge_auth.public_routes(clusters) if auth else []),
        *(_service_route(u, auth) for u in settings.upstreams),
        *([limits.cors_route(HEALTH_CLUSTER)] if settings.cors_origins else []),
        {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
    ]
    if auth:
        edge_auth.open_public_paths(routes)
    mappers = [
        {
            "filter": {"status_code_filter": {"comparison": {"op": "EQ", "value": {
                "default_value": status, "runtime_key": f"edge.local_reply.{status}"}}}},
            "body_format_override": {"json_format": {"code": code, "status": name, "message": message}},
        }
        for status, code, name, message in _LOCAL_REPLIES
    ]
    if auth:
        mappers.insert(0, edge_auth.forbidden_token_mapper())
    auth_filters = edge_auth.filters(settings, key_check_cluster=_key_check_cluster(settings)) if auth else []
    if auth:
        limits.set_principal(auth_filters, edge_auth.JWT_FILTER)
    rate_limit = limits.rate_limit_filter(settings) if auth else None
    virtual_host = {"name": "api", "domains": ["*"], "routes": routes}
    if settings.cors_origins:
        virtual_host["typed_per_filter_config"] = limits.cors_policy(settings.cors_origins)
    # With an OTLP collector configured, every request is an Envoy span (service `marketing-edge`), the
    # parent of the services' spans; an incoming traceparent is kept (edge/tracing.py).
    tracing = {"tracing": edge_tracing.manager_tracing("marketing-edge")} if settings.otlp_endpoint else {}
    manager = _any(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        **tracing,
        stat_prefix="edge",
        codec_type="AUTO",
        generate_request_id=True,
        # The client's address is the TCP peer, appended to X-Forwarded-For (a client's own
        # X-Forwarded-For decides nothing); in Kubernetes the ingress gateway in front is one
        # trusted hop (mesh/edge_kubernetes.py). Services read it in x-mkt-client-address.
        use_remote_address=True,
        xff_num_trusted_hops=0,
        access_log=[{
            "name": "envoy.access_loggers.stdout",
            "typed_config": _any("envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                                 log_format={"json_format": ACCESS_LOG_FORMAT}),
        }],
        route_config={"name": "edge", "virtual_hosts": [virtual_host]},
        local_reply_config={"mappers": mappers},
        http_filters=[
            # CORS first: a preflight from a dashboard origin is answered before any credential check.
            *([limits.cors_filter()] if settings.cors_origins else []),
            *auth_filters,
            # After authentication: a bucket per principal that it set.
            *([rate_limit] if rate_limit else []),
            {"name": "envoy.filters.http.buffer", "typed_config": _any(
                "envoy.extensions.filters.http.buffer.v3.Buffer", max_request_bytes=settings.max_request_bytes)},
            # Before the transcoder, so that on the way back it sees the transcoded response.
            {"name": "envoy.filters.http.lua", "typed_config": _any(
                "envoy.extensions.filters.http.lua.v3.Lua", default_source_code={"inline_string": REDIRECT_LUA})},
            {"name": "envoy.filters.http.grpc_json_transcoder", "typed_config": transcoder},
            {"name": "envoy.filters.http.router", "typed_config": _any(
                "envoy.extensions.filters.http.router.v3.Router")},
        ],
    )
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": settings.admin_port}}},
        "static_resources": {
            "listeners": [{
                "name": "edge",
                "address": {"socket_address": {"address": settings.host, "port_value": settings.port}},
                "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                "typed_config": manager}]}],
            }],
            "clusters": [
                *(_cluster(u.spec.name, u.host, u.port, http2=True) for u in settings.upstreams),
                _cluster(HEALTH_CLUSTER, "127.0.0.1", settings.health_port, http2=False),
                *(edge_auth.jwks_clusters(settings) if auth else []),
                *([edge_tracing.otlp_cluster(settings.otlp_endpoint)] if settings.otlp_endpoint else []),
            ],
        },
    }


def _key_check_cluster(settings: EdgeSettings) -> str:
    """API keys are checked by the integrations service (envoy.service.auth.v3.Authorization)."""
    return next(u.spec.name for u in settings.upstreams if u.spec.name == "integrations")


def write(path: Path, settings: EdgeSettings | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(render(settings or load_edge_settings()), indent=2))
    return path


if __name__ == "__main__":
    from edge import dev_tokens
    from svc_kit.config import state_dir

    edge_settings = load_edge_settings()
    if not edge_settings.jwks_url and edge_settings.jwks_file == state_dir() / dev_tokens.AUTH_DIR / dev_tokens.JWKS_NAME:
        dev_tokens.ensure_dev_keys(state_dir())  # as `make run` does: the development key and its JWKS
    json.dump(render(edge_settings), sys.stdout, indent=2)
