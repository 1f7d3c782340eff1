"""Authentication and authorization through the real edge: JWTs (jwt_authn), API keys
(ext_authz served by the integrations service), roles checked by every service."""

from __future__ import annotations

import base64
import json
import time
import uuid

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edge.dev_tokens import mint
from svc_kit.authz import IDENTITY_HEADER, level_of, role_allows
from svc_kit.services import SERVICES

pytestmark = pytest.mark.e2e


def workspace() -> str:
    return f"auth-{uuid.uuid4().hex[:8]}"


def token(running, workspaces: dict[str, str], **kw) -> str:
    return running.platform.dev_token(workspaces, **kw) if not kw else mint(
        running.platform.state_dir.resolve(), workspaces, issuer=kw.pop("issuer", "mkt-dev"),
        audience=kw.pop("audience", "marketing-platform"), **kw)


def create_key(running, ws: str, role: str) -> str:
    response = running.rest.call("POST", f"/v1/workspaces/{ws}/apiKeys",
                                 {"role": f"ROLE_{role.upper()}", "displayName": f"{role} key"})
    assert response.status == 200, response.body
    assert response.body["key"].startswith("mk_")
    return response.body


def assert_unauthenticated(response) -> None:
    assert response.status == 401, response.body
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.body["code"] == 16 and response.body["status"] == "UNAUTHENTICATED"


def test_rest_without_credentials_is_401_with_www_authenticate(running):
    assert_unauthenticated(running.rest.call("GET", "/v1/workspaces/demo/campaigns", token=None))
    assert_unauthenticated(running.rest.call("POST", "/v1/workspaces/demo/campaigns", {"displayName": "x"},
                                             token=None))


@pytest.mark.parametrize("case", ["expired", "wrong-key", "wrong-issuer", "wrong-audience", "malformed",
                                  "unknown-key", "not-bearer"])
def test_bad_credentials_are_401(running, case):
    state = running.platform.state_dir.resolve()
    if case == "expired":
        credential = mint(state, {"*": "admin"}, ttl=60, now=int(time.time()) - 3600)
    elif case == "wrong-key":  # same kid, signed by another key
        credential = jwt.encode({"iss": "mkt-dev", "aud": "marketing-platform", "sub": "x",
                                 "exp": int(time.time()) + 600, "workspaces": {"*": "admin"}},
                                ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                                headers={"kid": "dev-es256"})
    elif case == "wrong-issuer":
        credential = mint(state, {"*": "admin"}, issuer="someone-else")
    elif case == "wrong-audience":
        credential = mint(state, {"*": "admin"}, audience="another-api")
    elif case == "malformed":
        credential = "not.a.jwt"
    elif case == "unknown-key":
        credential = "mk_aaaaaaaaaaaa_" + "A" * 43
    else:
        response = running.rest.call("GET", "/v1/workspaces/demo/campaigns", token=None,
                                     headers={"authorization": "Basic YWRtaW46YWRtaW4="})
        assert_unauthenticated(response)
        return
    assert_unauthenticated(running.rest.call("GET", "/v1/workspaces/demo/campaigns", token=credential))


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_a_jwt_signed_with_either_algorithm_is_accepted_for_its_workspace_only(running, algorithm):
    ws = workspace()
    credential = mint(running.platform.state_dir.resolve(), {ws: "viewer"}, algorithm=algorithm)
    assert running.rest.call("GET", f"/v1/workspaces/{ws}/campaigns", token=credential).status == 200
    other = running.rest.call("GET", f"/v1/workspaces/{workspace()}/campaigns", token=credential)
    assert other.status == 404 and other.body["code"] == 5


def test_a_key_for_workspace_a_gets_404_on_b(running):
    a, b = workspace(), workspace()
    made = running.rest.call("POST", f"/v1/workspaces/{b}/campaigns", {"displayName": "B's"}).body
    key = create_key(running, a, "admin")["key"]
    assert running.rest.call("GET", f"/v1/workspaces/{a}/campaigns", token=key).status == 200
    for method, path in (("GET", f"/v1/{made['name']}"), ("GET", f"/v1/workspaces/{b}/campaigns"),
                         ("DELETE", f"/v1/{made['name']}")):
        response = running.rest.call(method, path, token=key)
        assert response.status == 404, (path, response.body)
    assert running.rest.call("GET", f"/v1/{made['name']}").status == 200  # still there


def test_viewer_is_refused_a_write_naming_the_permission(running):
    ws = workspace()
    key = create_key(running, ws, "viewer")["key"]
    assert running.rest.call("GET", f"/v1/workspaces/{ws}/campaigns", token=key).status == 200
    response = running.rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {"displayName": "no"}, token=key)
    assert response.status == 403, response.body
    assert response.body["code"] == 7
    assert "campaign.write" in response.body["message"]


def test_editor_writes_but_is_refused_an_admin_action(running):
    ws = workspace()
    key = create_key(running, ws, "editor")["key"]
    assert running.rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {"displayName": "ok"},
                             token=key).status == 200
    response = running.rest.call("POST", f"/v1/workspaces/{ws}/apiKeys", {"role": "ROLE_ADMIN"}, token=key)
    assert response.status == 403 and "integrations.admin" in response.body["message"]
    response = running.rest.call("PATCH", f"/v1/workspaces/{ws}/notifySettings",
                                 {"name": f"workspaces/{ws}/notifySettings"}, token=key)
    assert response.status == 403 and "notify.admin" in response.body["message"], response.body


def test_a_revoked_key_is_401_at_once_and_keys_are_shown_once(running):
    ws = workspace()
    created = create_key(running, ws, "editor")
    key = created["key"]
    assert running.rest.call("GET", f"/v1/workspaces/{ws}/campaigns", token=key).status == 200
    listed = running.rest.call("GET", f"/v1/workspaces/{ws}/apiKeys").body["apiKeys"]
    assert [k["name"] for k in listed] == [created["name"]]
    assert listed[0]["key"] == "" and key.startswith(listed[0]["keyPrefix"] + "_")
    assert listed[0]["lastUsedTime"]
    revoked = running.rest.call("POST", f"/v1/{created['name']}:revoke", {})
    assert revoked.status == 200 and revoked.body["revokeTime"]
    assert_unauthenticated(running.rest.call("GET", f"/v1/workspaces/{ws}/campaigns", token=key))


def _forged(workspaces: dict[str, str]) -> str:
    raw = json.dumps({"sub": "mallory", "via": "jwt", "workspaces": workspaces}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_an_identity_header_sent_by_a_client_is_ignored(running):
    ws = workspace()
    forged = {IDENTITY_HEADER: _forged({"*": "admin"})}
    assert_unauthenticated(running.rest.call("GET", f"/v1/workspaces/{ws}/campaigns", token=None, headers=forged))
    viewer = create_key(running, ws, "viewer")["key"]
    response = running.rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {"displayName": "x"}, token=viewer,
                                 headers=forged)
    assert response.status == 403
    # A public endpoint with a forged identity still runs as the anonymous principal: no write.
    response = running.rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {"displayName": "x"}, token=None,
                                 headers={**forged, "authorization": "Bearer mk_"})
    assert response.status == 401


def test_public_endpoints_need_no_credentials(running):
    assert running.rest.call("GET", "/healthz", token=None).status == 200
    ws = workspace()
    # Reaches notify (a bad link token is its 400, not the edge's 401).
    click = running.rest.call("GET", f"/v1/workspaces/{ws}/messages/m1:click?token=x", token=None)
    assert click.status in (400, 404), click.body
    page = running.rest.call("GET", f"/v1/workspaces/{ws}/suppressions:unsubscribe?token=x", token=None)
    assert page.status != 401
    # But the neighbouring non-public method of the same resource is not.
    assert_unauthenticated(running.rest.call("GET", f"/v1/workspaces/{ws}/messages/m1", token=None))


# --- every RPC against every role, through the edge's gRPC ---------------------------------------------

def _rpcs():
    import importlib

    for spec in SERVICES:
        module = importlib.import_module(f"marketing.{spec.name}.v1.{spec.name}_service_pb2")
        service = module.DESCRIPTOR.services_by_name[spec.grpc_service.rsplit(".", 1)[1]]
        for method in service.methods:
            yield spec, method


def _request(method, ws: str):
    from google.protobuf import message_factory

    request = message_factory.GetMessageClass(method.input_type)()
    fields = method.input_type.fields_by_name
    if "parent" in fields and fields["parent"].type == fields["parent"].TYPE_STRING:
        request.parent = f"workspaces/{ws}"
    if "name" in fields and fields["name"].type == fields["name"].TYPE_STRING:
        request.name = f"workspaces/{ws}/things/nothing"
    for field in method.input_type.fields:  # Update requests: the resource's own name
        if field.type == field.TYPE_MESSAGE and not field.is_repeated \
                and "name" in field.message_type.fields_by_name and not field.message_type.GetOptions().map_entry:
            getattr(request, field.name).name = f"workspaces/{ws}/things/nothing"
    return request


def _call(channel, spec, method, request, credential: str):
    path = f"/{spec.grpc_service}/{method.name}"
    metadata = (("authorization", f"Bearer {credential}"),)
    serialize, deserialize = request.SerializeToString, lambda raw: raw
    try:
        if method.client_streaming and method.server_streaming:
            list(channel.stream_stream(path, serialize, deserialize)(iter([request]), metadata=metadata, timeout=10))
        elif method.client_streaming:
            channel.stream_unary(path, serialize, deserialize)(iter([request]), metadata=metadata, timeout=10)
        elif method.server_streaming:
            list(channel.unary_stream(path, serialize, deserialize)(request, metadata=metadata, timeout=10))
        else:
            channel.unary_unary(path, serialize, deserialize)(request, metadata=metadata, timeout=10)
    except grpc.RpcError as error:
        return error.code(), error.details()
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_every_rpc_against_every_role(running, role):
    ws = workspace()
    credential = running.platform.dev_token({ws: role}, subject=f"rbac-{role}")
    checked, refused = 0, 0
    with grpc.insecure_channel(f"127.0.0.1:{running.edge_port}") as channel:
        for spec, method in _rpcs():
            code, details = _call(channel, spec, method, _request(method, ws), credential)
            assert code is not grpc.StatusCode.UNAUTHENTICATED, (method.full_name, details)
            level = level_of(method.name)
            if role_allows(role, level):
                assert code is not grpc.StatusCode.PERMISSION_DENIED, (method.full_name, role, details)
            else:
                assert code is grpc.StatusCode.PERMISSION_DENIED, (method.full_name, role, code, details)
                assert f".{level}" in details, details
                refused += 1
            checked += 1
    assert checked > 100
    assert (refused > 0) == (role != "admin")


@pytest.mark.embedded_only("the CLI's commands call the API, the same on both buses (CI time)")
def test_mkt_keys_and_token_commands(running):
    import os
    import subprocess
    import sys

    ws = workspace()
    env = {**os.environ, "MKT_EDGE_PORT": str(running.edge_port),
           "MKT_STATE_DIR": str(running.platform.state_dir.resolve())}
    env.pop("TOKEN", None)

    def mkt(*args):
        return subprocess.run([sys.executable, "-m", "mkt", *args], env=env, capture_output=True, text=True,
                              timeout=60)

    made = mkt("keys", "create", "--workspace", ws, "--role", "editor", "--name", "ci")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("mk_") and "\n" not in key  # only the key on stdout
    assert running.rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {"displayName": "k"}, token=key).status == 200
    listed = mkt("keys", "list", "--workspace", ws)
    assert listed.returncode == 0 and key.split("_")[1] in listed.stdout and key not in listed.stdout
    assert mkt("keys", "create", "--workspace", ws, "--role", "owner").returncode == 2
    revoked = mkt("keys", "revoke", "--workspace", ws, key.split("_")[1])
    assert revoked.returncode == 0, revoked.stderr
    assert_unauthenticated(running.rest.call("GET", f"/v1/workspaces/{ws}/campaigns", token=key))
    # Through the edge: a credential without the admin role is refused.
    viewer_token = running.platform.dev_token({ws: "viewer"})
    refused = mkt("keys", "list", "--workspace", ws, "--token", viewer_token)
    assert refused.returncode == 1 and "PERMISSION_DENIED" in refused.stderr

    minted = mkt("token", "dev", "--workspace", ws, "--role", "viewer", "--ttl", "60")
    assert minted.returncode == 0, minted.stderr
    viewer = minted.stdout.strip()
    assert running.rest.call("GET", f"/v1/workspaces/{ws}/campaigns", token=viewer).status == 200
    assert running.rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {"displayName": "v"},
                             token=viewer).status == 403
