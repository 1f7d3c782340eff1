"""Authentication at the edge: the Envoy filters and routes that verify a JWT
(jwt_authn, RS256/ES256, issuer and audience) or an API key (ext_authz, served by
the integrations service), strip any identity a client sends, and pass the verified
one to the services in the one header only the edge sets (svc_kit.authz).

PUBLIC is the one list of what stays reachable without credentials: public RPCs
(their REST paths come from their `google.api.http` bindings) and plain paths.
Adding a public path is one line here."""

from __future__ import annotations

import importlib
import re
from urllib.parse import urlparse

from google.api import annotations_pb2

from svc_kit.authz import ANONYMOUS, EDGE_ISSUER, IDENTITY_HEADER, OVERRIDES, PUBLIC as PUBLIC_LEVEL, Identity
from svc_kit.authz import encode_identity
from svc_kit.services import SERVICES

# The edge's own pages, served by edge/healthz.py and reached without the transcoder: health, the
# OpenAPI document and its docs page (with the viewer's files under /docs/). Public: one line adds a path.
PUBLIC_PATHS: tuple[tuple[str, str], ...] = (
    ("path", "/healthz"),
    ("path", "/openapi.json"),
    ("path", "/docs"),
    ("prefix", "/docs/"),
)

JWT_FILTER = "envoy.filters.http.jwt_authn"
EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz"
JWT_PROVIDER = "platform"
PAYLOAD_METADATA = "jwt_payload"
JWKS_CLUSTER = "edge_jwks"
KEY_CHECK_TIMEOUT = "0.5s"
ANONYMOUS_IDENTITY = encode_identity(Identity(ANONYMOUS, "public", {}), {"iss": EDGE_ISSUER})


def _any(type_name: str, **fields) -> dict:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def _service_methods(spec):
    module = importlib.import_module(f"marketing.{spec.name}.v1.{spec.name}_service_pb2")
    return module.DESCRIPTOR.services_by_name[spec.grpc_service.rsplit(".", 1)[1]].methods


def public_methods() -> list[tuple[str, object]]:
    """(full gRPC path, method descriptor) of every public RPC."""
    found = []
    for spec in SERVICES:
        for method in _service_methods(spec):
            if OVERRIDES.get(method.name) == PUBLIC_LEVEL:
                found.append((f"/{spec.grpc_service}/{method.name}", method))
    return found


def _template_regex(template: str) -> str:
    """`/v1/{name=workspaces/*/messages/*}:click` -> a RE2 regex of the paths it matches."""
    out, position = [], 0
    for match in re.finditer(r"\{[^}=]+(?:=([^}]*))?\}", template):
        out.append(re.escape(template[position:match.start()]))
        pattern = match.group(1) or "*"
        out.append("/".join(".+" if part == "**" else "[^/]+" if part == "*" else re.escape(part)
                            for part in pattern.split("/")))
        position = match.end()
    out.append(re.escape(template[position:]))
    return "".join(out).replace("\\-", "-")


def public_rest_routes() -> list[tuple[str, str]]:
    """(HTTP method, path regex) of the public RPCs' REST bindings."""
    routes = []
    for _, method in public_methods():
        rule = method.GetOptions().Extensions[annotations_pb2.http]
        for binding in [rule, *rule.additional_bindings]:
            verb = binding.WhichOneof("pattern")
            if verb and verb != "custom":
                routes.append((verb.upper(), _template_regex(getattr(binding, verb))))
    return routes


def _public_matches() -> list[dict]:
    """Route matches of everything public: plain paths, REST bindings, gRPC paths."""
    matches = [{kind: path} for kind, path in PUBLIC_PATHS]
    matches += [{"safe_regex": {"regex": regex},
                 "headers": [{"name": ":method", "string_match": {"exact": verb}}]}
                for verb, regex in public_rest_routes()]
    matches += [{"path": path} for path, _ in public_methods()]
    return matches


def disabled_per_route() -> dict:
    """typed_per_filter_config that turns the key check off on a public route."""
    return {EXT_AUTHZ_FILTER: _any("envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute", disabled=True)}


def open_public_paths(routes: list[dict]) -> list[dict]:
    """Turns the key check off on every route whose match is one of PUBLIC_PATHS (wherever in
    envoy_config the route for /openapi.json or /docs is added); jwt_authn's rules already let them by."""
    public = {(kind, path) for kind, path in PUBLIC_PATHS}
    for route in routes:
        match = route.get("match", {})
        if any((kind, match.get(kind)) in public for kind in ("path", "prefix")):
            route.setdefault("typed_per_filter_config", {}).update(disabled_per_route())
    return routes


def public_routes(service_clusters: dict[str, str]) -> list[dict]:
    """Routes for the public REST bindings (before transcoding; the transcoder then
    re-routes to the gRPC route) and the public gRPC methods, with the key check off."""
    routes = [{"match": {"safe_regex": {"regex": regex},
                         "headers": [{"name": ":method", "string_match": {"exact": verb}}]},
               "direct_response": {"status": 404},
               "typed_per_filter_config": disabled_per_route()}
              for verb, regex in public_rest_routes()]
    for path, _ in public_methods():
        service = path.split("/")[1]
        routes.append({"match": {"path": path},
                       "route": {"cluster": service_clusters[service], "timeout": "30s"},
                       "request_headers_to_add": [anonymous_identity()],
                       "typed_per_filter_config": disabled_per_route()})
    return routes


def anonymous_identity() -> dict:
    """On every route to a service: a call that no filter authenticated (a public one)
    reaches the services as the anonymous principal, never without the header."""
    return {"header": {"key": IDENTITY_HEADER, "value": ANONYMOUS_IDENTITY}, "append_action": "ADD_IF_ABSENT"}


def forbidden_token_mapper() -> dict:
    """jwt_authn answers a token for another audience with its own 403: the edge makes every
    403 it makes itself a 401 with a challenge (a role's refusal is the services' 403, which is
    not a local reply and keeps its status)."""
    return {
        "filter": {"status_code_filter": {"comparison": {"op": "EQ", "value": {
            "default_value": 403, "runtime_key": "edge.local_reply.403"}}}},
        "status_code": 401,
        "headers_to_add": [{"header": {"key": "www-authenticate", "value":
                            'Bearer realm="marketing-platform", error="invalid_token"'},
                            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
        "body_format_override": {"json_format": {"code": 16, "status": "UNAUTHENTICATED",
                                                 "message": "%LOCAL_REPLY_BODY%"}},
    }


def _jwks_source(settings) -> dict:
    if settings.jwks_url:
        return {"remote_jwks": {"http_uri": {"uri": settings.jwks_url, "cluster": JWKS_CLUSTER, "timeout": "5s"},
                                "cache_duration": "300s",
                                "async_fetch": {"fast_listener": False},
                                "retry_policy": {"num_retries": 3}}}
    return {"local_jwks": {"filename": str(settings.jwks_file)}}


def jwks_clusters(settings) -> list[dict]:
    """The identity provider's JWKS endpoint, when the keys come from a URL."""
    if not settings.jwks_url:
        return []
    url = urlparse(settings.jwks_url)
    tls = url.scheme == "https"
    port = url.port or (443 if tls else 80)
    cluster = {
        "name": JWKS_CLUSTER, "type": "STRICT_DNS", "connect_timeout": "2s", "dns_lookup_family": "V4_PREFERRED",
        "load_assignment": {"cluster_name": JWKS_CLUSTER, "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": url.hostname, "port_value": port}}}}]}]},
    }
    if tls:
        cluster["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": _any(
            "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", sni=url.hostname,
            common_tls_context={"validation_context": {"trusted_ca": {"filename": "/etc/ssl/certs/ca-certificates.crt"}}})}
    return [cluster]


def filters(settings, key_check_cluster: str) -> list[dict]:
    """The HTTP filters, in order, that go before the rest of the edge's."""
    public_rules = [{"match": match} for match in _public_matches()]
    jwt = _any(
        "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        providers={JWT_PROVIDER: {
            "issuer": settings.jwt_issuer,
            "audiences": [settings.jwt_audience],
            **_jwks_source(settings),
            "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
            "forward": False,
            "forward_payload_header": IDENTITY_HEADER,
            "payload_in_metadata": PAYLOAD_METADATA,
            "clock_skew_seconds": 30,
        }},
        rules=[
            *public_rules,
            # An API key is the key check's (ext_authz below), not a JWT.
            {"match": {"prefix": "/", "headers": [{"name": "authorization",
                                                   "string_match": {"prefix": "Bearer mk_"}}]}},
            {"match": {"prefix": "/"}, "requires": {"provider_name": JWT_PROVIDER}},
        ],
    )
    ext_authz = _any(
        "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
        grpc_service={"envoy_grpc": {"cluster_name": key_check_cluster}, "timeout": KEY_CHECK_TIMEOUT},
        transport_api_version="V3",
        failure_mode_allow=False,
        status_on_error={"code": 503},
        # Only requests that no JWT authenticated: those carry an API key (or are public: off per route).
        filter_enabled_metadata={"filter": JWT_FILTER, "path": [{"key": PAYLOAD_METADATA}],
                                 "value": {"present_match": True}, "invert": True},
        allowed_headers={"patterns": [{"exact": "authorization"}]},
    )
    strip = _any("envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
                 mutations={"request_mutations": [{"remove": IDENTITY_HEADER}]})
    return [
        # First: whatever a client sends as the identity is dropped before anything sets it.
        {"name": "envoy.filters.http.header_mutation", "typed_config": strip},
        {"name": JWT_FILTER, "typed_config": jwt},
        {"name": EXT_AUTHZ_FILTER, "typed_config": ext_authz},
    ]
