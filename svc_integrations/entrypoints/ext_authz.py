"""Envoy's external authorization for API keys (`envoy.service.auth.v3.Authorization/Check`,
on the integrations service's own gRPC server).

The edge calls it for every request that carries `Authorization: Bearer mk_...` (a request
with a JWT is verified by the edge's jwt_authn and does not come here). A known, matching,
unrevoked key: OK, with the identity header set for the services and the Authorization header
removed. Anything else: 401 with `WWW-Authenticate`."""

from __future__ import annotations

import grpc
from google.rpc import code_pb2, status_pb2

from svc_kit.authz import IDENTITY_HEADER, PRINCIPAL_HEADER, KEY_ISSUER, Identity, encode_identity

from svc_integrations.entrypoints.envoy_auth import external_auth_pb2 as pb
from svc_integrations.entrypoints.envoy_auth import external_auth_pb2_grpc
from svc_integrations.service_layer.api_keys import ApiKeys

_OVERWRITE = pb.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
REALM = "marketing-platform"


def _denied(description: str) -> pb.CheckResponse:
    challenge = f'Bearer realm="{REALM}", error="invalid_token", error_description="{description}"'
    return pb.CheckResponse(
        status=status_pb2.Status(code=code_pb2.UNAUTHENTICATED, message=description),
        denied_response=pb.DeniedHttpResponse(
            status=pb.HttpStatus(code=401),
            headers=[pb.HeaderValueOption(header=pb.HeaderValue(key="www-authenticate", value=challenge),
                                          append_action=_OVERWRITE)],
            body=description))


class KeyAuthorization(external_auth_pb2_grpc.AuthorizationServicer):
    def __init__(self, keys: ApiKeys):
        self.keys = keys

    async def Check(self, request: pb.CheckRequest, context) -> pb.CheckResponse:
        header = request.attributes.request.http.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return _denied("credentials are missing: send Authorization: Bearer <token or mk_ key>")
        if scheme.lower() != "bearer" or not token.startswith("mk_"):
            return _denied("the Authorization header is not `Bearer mk_...`")
        verdict = self.keys.check(token.strip())
        if verdict.key is None:
            return _denied(verdict.reason)
        key = verdict.key
        identity = Identity(key.name, "key", {key.workspace: key.role})
        return pb.CheckResponse(
            status=status_pb2.Status(code=code_pb2.OK),
            ok_response=pb.OkHttpResponse(
                headers=[pb.HeaderValueOption(
                    header=pb.HeaderValue(key=IDENTITY_HEADER, value=encode_identity(identity, {"iss": KEY_ISSUER})),
                    append_action=_OVERWRITE),
                    # The edge's rate limit keeps a bucket per principal (edge/limits.py).
                    pb.HeaderValueOption(header=pb.HeaderValue(key=PRINCIPAL_HEADER, value=f"key:{key.name}"),
                                         append_action=_OVERWRITE)],
                headers_to_remove=["authorization"]))


def add_to_server(keys: ApiKeys, server: grpc.aio.Server) -> None:
    external_auth_pb2_grpc.add_AuthorizationServicer_to_server(KeyAuthorization(keys), server)
