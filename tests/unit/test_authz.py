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


def test_a_route_added_for_a_public_path_gets_the_key_check_off():
    from edge.auth import EXT_AUTHZ_FILTER, open_public_paths

    routes = open_public_paths([{"match": {"path": "/openapi.json"}, "direct_response": {"status": 200}},
                                {"match": {"path": "/docs"}, "direct_response": {"status": 200}},
                                {"match": {"prefix": "/docs/"}, "direct_response": {"status": 200}},
                                {"match": {"prefix": "/docs"}, "direct_response": {"status": 200}},
                                {"match": {"prefix": "/v1/"}, "direct_response": {"status": 200}}])
    assert [EXT_AUTHZ_FILTER in r.get("typed_per_filter_config", {}) for r in routes] == [
        True, True, True, False, False]


def test_the_rendered_edge_checks_credentials_except_on_public_routes():
    from edge import envoy_config
    from edge.auth import EXT_AUTHZ_FILTER, JWT_FILTER
    from edge.settings import load_edge_settings

    config = envoy_config.render(load_edge_settings({"MKT_STATE_DIR": "/tmp/unused"}))
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    names = [f["name"] for f in manager["http_filters"]]
    assert names[:3] == ["envoy.filters.http.header_mutation", JWT_FILTER, EXT_AUTHZ_FILTER]
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    healthz = next(r for r in routes if r["match"].get("path") == "/healthz")
    assert EXT_AUTHZ_FILTER in healthz["typed_per_filter_config"]
    service_routes = [r for r in routes if "prefix" in r["match"] and r.get("route")
                      and r["route"]["cluster"] != envoy_config.HEALTH_CLUSTER]  # not the edge's own /docs/ pages
    assert service_routes and all(r["request_headers_to_add"][0]["append_action"] == "ADD_IF_ABSENT"
                                  for r in service_routes)
    off = envoy_config.render(load_edge_settings({"MKT_STATE_DIR": "/tmp/unused"}), auth=False)
    off_manager = off["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert JWT_FILTER not in [f["name"] for f in off_manager["http_filters"]]
