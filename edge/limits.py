"""Rate limits and CORS at the edge (Envoy filters).

Rate limits: Envoy's local rate limit filter, after authentication, with one token bucket
per principal. The principal is the header `x-mkt-principal`, which only the edge sets:
any a client sends is removed first; jwt_authn then sets it from the verified JWT's `sub`
(the claim as it is) and the key check (ext_authz, the integrations
service) to `key:workspaces/W/apiKeys/ID`. Calls without credentials (the public routes)
have no principal and share one bucket of their own. A call over its limit answers 429
with `Retry-After` and the draft-03 `X-RateLimit-*` headers, and the edge's JSON error body
(code 8, RESOURCE_EXHAUSTED). The buckets are per edge process (replica).

CORS: Envoy's CORS filter, first, for the dashboard origins configured
(MKT_EDGE_CORS_ORIGINS): a preflight from one of them is answered by the edge itself."""

from __future__ import annotations

import math

from svc_kit.authz import PRINCIPAL_HEADER

RATE_LIMIT_FILTER = "envoy.filters.http.local_ratelimit"
CORS_FILTER = "envoy.filters.http.cors"
PRINCIPAL_DESCRIPTOR = "principal"
MAX_PRINCIPALS = 100_000  # buckets kept at once (least recently used go first)
RATE_LIMITED_MESSAGE = "rate limit exceeded: retry after the seconds in the Retry-After header"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_REQUEST_HEADERS = "authorization, content-type, x-request-id, traceparent, if-match, idempotency-key"
CORS_EXPOSED_HEADERS = ("retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, "
                        "www-authenticate, etag, x-request-id")


# Limits no test or benchmark reaches (every test shares one admin subject): for platforms that
# tests and benchmarks start; tests/e2e/test_rate_limits.py starts one with low limits instead.
HIGH_LIMITS = {"MKT_EDGE_RATE_LIMIT_PER_MINUTE": "6000000", "MKT_EDGE_RATE_LIMIT_BURST": "1000000",
               "MKT_EDGE_PUBLIC_RATE_LIMIT_PER_MINUTE": "6000000"}


def _any(type_name: str, **fields) -> dict:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def bucket(per_minute: int, burst: int) -> tuple[dict, int]:
    """An Envoy token bucket for `per_minute` requests with `burst` at once, and the seconds
    after which a refused call finds a token again (its Retry-After)."""
    if per_minute >= 60:
        per_fill, interval = per_minute // 60, 1.0
    else:
        per_fill, interval = 1, 60 / per_minute
    return ({"max_tokens": max(burst, per_fill), "tokens_per_fill": per_fill,
             "fill_interval": f"{interval:.3f}s"}, max(1, math.ceil(interval)))


def set_principal(auth_filters: list[dict], jwt_filter: str) -> None:
    """In the edge's authentication filters (edge/auth.py): the first one, which drops the
    identity a client sends, drops its principal too; jwt_authn sets it from the verified
    token's subject (the key check sets it for an API key)."""
    strip = auth_filters[0]["typed_config"]
    assert strip["@type"].endswith("HeaderMutation"), strip
    strip["mutations"]["request_mutations"].append({"remove": PRINCIPAL_HEADER})
    for http_filter in auth_filters:
        if http_filter["name"] == jwt_filter:
            for provider in http_filter["typed_config"]["providers"].values():
                provider.setdefault("claim_to_headers", []).append(
                    {"header_name": PRINCIPAL_HEADER, "claim_name": "sub"})


def rate_limit_filter(settings) -> dict | None:
    """The local rate limit: a bucket per principal, one shared by calls without one."""
    if not settings.rate_limit_per_minute:
        return None
    principal, principal_wait = bucket(settings.rate_limit_per_minute, settings.rate_limit_burst)
    public, public_wait = bucket(settings.public_rate_limit_per_minute, settings.public_rate_limit_per_minute)
    always = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
    return {"name": RATE_LIMIT_FILTER, "typed_config": _any(
        "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        stat_prefix="edge_rate_limit",
        token_bucket=public,
        filter_enabled={**always, "runtime_key": "edge.rate_limit.enabled"},
        filter_enforced={**always, "runtime_key": "edge.rate_limit.enforced"},
        rate_limits=[{"actions": [{"request_headers": {
            "header_name": PRINCIPAL_HEADER, "descriptor_key": PRINCIPAL_DESCRIPTOR, "skip_if_absent": True}}]}],
        # A blank value: every principal gets a bucket of its own, made on its first call.
        descriptors=[{"entries": [{"key": PRINCIPAL_DESCRIPTOR, "value": ""}], "token_bucket": principal}],
        max_dynamic_descriptors=MAX_PRINCIPALS,
        enable_x_ratelimit_headers="DRAFT_VERSION_03",
        rate_limited_as_resource_exhausted=True,
        response_headers_to_add=[{"header": {"key": "retry-after", "value": str(max(principal_wait, public_wait))},
                                  "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
    )}


def cors_filter() -> dict:
    return {"name": CORS_FILTER, "typed_config": _any("envoy.extensions.filters.http.cors.v3.Cors")}


REST_PREFIX = "/v1/"


def cors_route(cluster: str) -> dict:
    """The CORS filter acts only on a route that forwards (Envoy skips direct responses), and a
    REST path matches the edge's catch-all 404 until the transcoder turns it into a gRPC path.
    This route for the REST paths forwards nowhere in practice: the transcoder either re-routes
    the call to its service or refuses an unknown method (reject_unknown_method) with 404."""
    return {"match": {"prefix": REST_PREFIX}, "route": {"cluster": cluster, "timeout": "5s"}}


def cors_policy(origins: tuple[str, ...]) -> dict:
    """The virtual host's typed_per_filter_config entry for the allowed origins."""
    return {CORS_FILTER: _any(
        "envoy.extensions.filters.http.cors.v3.CorsPolicy",
        allow_origin_string_match=[{"exact": origin} for origin in origins],
        allow_methods=CORS_METHODS,
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        max_age="600",
    )}
