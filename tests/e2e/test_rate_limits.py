"""Rate limits per principal and CORS at the real edge (edge/limits.py), on a platform of
their own with low limits, so that the session's platform is never throttled."""

from __future__ import annotations

import io
import os
import uuid

import pytest

from devstack.servers.platform import Platform, free_platform_ports
from svc_kit.authz import PRINCIPAL_HEADER
from tests.e2e.conftest import Rest

pytestmark = pytest.mark.e2e

BURST = 4
DASHBOARD = "https://dash.example.com"


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    env: dict = free_platform_ports()
    # One request a minute after a burst of BURST: a refill never lands inside a test.
    env.update({"MKT_EDGE_RATE_LIMIT_PER_MINUTE": 1, "MKT_EDGE_RATE_LIMIT_BURST": BURST,
                "MKT_EDGE_PUBLIC_RATE_LIMIT_PER_MINUTE": 6000, "MKT_EDGE_CORS_ORIGINS": DASHBOARD})
    platform = Platform(tmp_path_factory.mktemp("limited"), {**os.environ, **{k: str(v) for k, v in env.items()}},
                        out=io.StringIO())
    platform.start()
    try:
        platform.wait_ready(timeout=90)
        yield platform, env["MKT_EDGE_PORT"]
    finally:
        platform.stop()


def _key(rest: Rest, workspace: str) -> str:
    response = rest.call("POST", f"/v1/workspaces/{workspace}/apiKeys", {"role": "ROLE_VIEWER", "displayName": "k"})
    assert response.status == 200, response.body
    return response.body["key"]


def test_a_key_over_its_limit_gets_429_with_retry_after_and_others_are_unaffected(limited):
    platform, port = limited
    workspace = f"rl-{uuid.uuid4().hex[:8]}"
    admin = Rest(port, platform.dev_token({workspace: "admin"}, subject="rate-limit-admin"))
    first, second = _key(admin, workspace), _key(admin, workspace)
    path = f"/v1/workspaces/{workspace}/campaigns"

    answers = [admin.call("GET", path, token=first) for _ in range(BURST + 1)]
    assert [a.status for a in answers] == [200] * BURST + [429], [(a.status, a.body) for a in answers]
    ok, refused = answers[0], answers[-1]
    assert ok.headers["x-ratelimit-limit"].startswith(str(BURST)), ok.headers
    assert int(ok.headers["x-ratelimit-remaining"]) == BURST - 1
    assert "x-ratelimit-reset" in ok.headers
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.body["code"] == 8 and refused.body["status"] == "RESOURCE_EXHAUSTED", refused.body

    # A client cannot pick another bucket: the edge drops the principal it sends.
    assert admin.call("GET", path, token=first, headers={PRINCIPAL_HEADER: "key:someone-else"}).status == 429
    # Another key of the same workspace, and another JWT subject, still have their whole bucket.
    assert admin.call("GET", path, token=second).status == 200
    other = platform.dev_token({workspace: "viewer"}, subject="rate-limit-other")
    assert admin.call("GET", path, token=other).status == 200


def test_jwts_of_one_subject_share_a_bucket(limited):
    platform, port = limited
    rest = Rest(port)
    tokens = [platform.dev_token({"demo": "viewer"}, subject="rate-limit-shared", ttl=3600 + i)
              for i in range(BURST + 1)]
    assert len(set(tokens)) == len(tokens)
    statuses = [rest.call("GET", "/v1/workspaces/demo/campaigns", token=t).status for t in tokens]
    assert statuses == [200] * BURST + [429]


def _preflight(rest: Rest, origin: str):
    return rest.call("OPTIONS", "/v1/workspaces/demo/campaigns", token=None, headers={
        "origin": origin, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type"})


def test_cors_preflight_from_the_dashboard_is_answered(limited):
    platform, port = limited
    rest = Rest(port)
    response = _preflight(rest, DASHBOARD)
    assert response.status == 200, response.body
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    assert "authorization" in response.headers["access-control-allow-headers"]
    assert "POST" in response.headers["access-control-allow-methods"]
    # The actual call from the dashboard carries the allow header too.
    token = platform.dev_token({"demo": "viewer"}, subject="cors-reader")
    call = rest.call("GET", "/v1/workspaces/demo/campaigns", token=token, headers={"origin": DASHBOARD})
    assert call.status == 200 and call.headers["access-control-allow-origin"] == DASHBOARD
    assert "retry-after" in call.headers["access-control-expose-headers"]


def test_cors_preflight_from_another_origin_gets_no_allow_header(limited):
    response = _preflight(Rest(limited[1]), "https://evil.example.com")
    assert "access-control-allow-origin" not in response.headers, response.headers
    assert response.status != 200


def test_body_over_the_limit_is_413_json_with_a_key(limited):
    platform, port = limited
    workspace = f"rl-{uuid.uuid4().hex[:8]}"
    token = platform.dev_token({workspace: "editor"}, subject="rate-limit-big-body")
    response = Rest(port, token).call("POST", f"/v1/workspaces/{workspace}/campaigns",
                                      {"displayName": "x", "description": "y" * (2 * 1024 * 1024)})
    assert response.status == 413
    assert response.body["code"] == 3 and response.body["status"] == "INVALID_ARGUMENT"
