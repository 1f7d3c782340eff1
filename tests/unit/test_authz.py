"""The one permission table (svc_kit/authz.py) against the descriptor set, and the identity header."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2

from devstack.tools.paths import DESCRIPTOR_SET
from edge.auth import public_methods, public_rest_routes
from svc_kit.authz import (LEVELS, OVERRIDES, PUBLIC, Identity, MalformedIdentity, authorize, decode_identity,
                           encode_identity, level_of, permission_of)
from svc_kit.errors import NotFound, PermissionDenied
from svc_kit.services import SERVICES


def platform_methods() -> dict[str, set[str]]:
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    found = {}
    for file in files.file:
        for service in file.service:
            found[f"{file.package}.{service.name}"] = {m.name for m in service.method}
    return {spec.grpc_service: found[spec.grpc_service] for spec in SERVICES}


def test_every_rpc_of_every_service_has_a_level():
    methods = platform_methods()
    assert sum(len(m) for m in methods.values()) > 100
    for service, names in methods.items():
        for name in names:
            assert level_of(name) in (*LEVELS, PUBLIC), (service, name)


def test_every_override_names_an_rpc_that_exists():
    every = set().union(*platform_methods().values())
    assert set(OVERRIDES) <= every, sorted(set(OVERRIDES) - every)


@pytest.mark.parametrize("method, level", [
    ("GetCampaign", "read"), ("ListCampaigns", "read"), ("BatchGetProfiles", "read"), ("RenderTemplate", "read"),
    ("CreateCampaign", "write"), ("StartCampaign", "write"), ("IngestEvents", "write"),
    ("CreateApiKey", "admin"), ("ListApiKeys", "admin"), ("UpdateProvider", "admin"), ("CreateWebhook", "admin"),
    ("UpdateNotifySettings", "admin"),
    ("TrackClick", PUBLIC), ("Unsubscribe", PUBLIC), ("GetUnsubscribePage", PUBLIC), ("DownloadAsset", PUBLIC),
])
def test_levels_of_some_rpcs(method, level):
    assert level_of(method) == level


def test_the_edge_opens_exactly_the_public_rpcs():
    opened = {path.rsplit("/", 1)[1] for path, _ in public_methods()}
    assert opened == {m for m, level in OVERRIDES.items() if level == PUBLIC}
    assert ("GET", "/v1/workspaces/[^/]+/messages/[^/]+:click") in public_rest_routes()


def test_roles_and_workspaces():
    viewer = Identity("v", "key", {"acme": "viewer"})
    authorize(viewer, "marketing.campaign.v1.CampaignService", "GetCampaign", ["acme"])
    with pytest.raises(PermissionDenied, match="campaign.write"):
        authorize(viewer, "marketing.campaign.v1.CampaignService", "CreateCampaign", ["acme"])
    with pytest.raises(NotFound):
        authorize(viewer, "marketing.campaign.v1.CampaignService", "GetCampaign", ["other"])
    editor = Identity("e", "jwt", {"acme": "editor"})
    with pytest.raises(PermissionDenied, match="integrations.admin"):
        authorize(editor, "marketing.integrations.v1.IntegrationsService", "CreateApiKey", ["acme"])
    everywhere = Identity("t", "jwt", {"*": "admin"})
    authorize(everywhere, "marketing.integrations.v1.IntegrationsService", "CreateApiKey", ["any"])
    anonymous = Identity("anonymous", "public", {})
    authorize(anonymous, "marketing.notify.v1.NotifyService", "TrackClick", ["acme"])
    with pytest.raises(PermissionDenied):
        authorize(anonymous, "marketing.campaign.v1.CampaignService", "ListCampaigns", [])
    assert permission_of("marketing.notify.v1.NotifyService", "UpdateProvider") == "notify.admin"


def test_identity_header_round_trip_and_bad_values():
    identity = Identity("alice", "jwt", {"acme": "admin", "beta": "viewer"})
    assert decode_identity(encode_identity(identity)) == identity
    # A JWT's own claims (jwt_authn forwards the payload): unknown roles are dropped.
    assert decode_identity(encode_identity(Identity("bob", "jwt", {"a": "owner", "b": "editor"}))).workspaces == {
        "b": "editor"}
    for bad in ("!!!", "bm90IGpzb24", "WzFd"):  # not base64, not JSON, not an object
        with pytest.raises(MalformedIdentity):
            decode_identity(bad)
