"""The audit record the interceptor builds for write and admin calls (real request and response messages)."""

from __future__ import annotations

from datetime import UTC, datetime

from marketing.campaign.v1 import campaign_pb2, campaign_service_pb2
from marketing.integrations.v1 import api_key_pb2, integrations_service_pb2
from svc_kit.audit import build_record, source_address
from svc_kit.authz import Identity

NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
ALICE = Identity("alice@example.com", "jwt", {"acme": "admin"})
KEY = Identity("workspaces/acme/apiKeys/k1", "key", {"acme": "admin"})
CAMPAIGNS = "marketing.campaign.v1.CampaignService"
INTEGRATIONS = "marketing.integrations.v1.IntegrationsService"


def test_an_update_records_the_resource_and_the_etags_before_and_after():
    request = campaign_service_pb2.UpdateCampaignRequest(
        campaign=campaign_pb2.Campaign(name="workspaces/acme/campaigns/c1", etag="W/\"3\""))
    response = campaign_pb2.Campaign(name="workspaces/acme/campaigns/c1", etag="W/\"4\"")
    record = build_record(service=CAMPAIGNS, method="UpdateCampaign", identity=ALICE, request=request,
                          response=response, status="OK", time=NOW,
                          metadata=[("x-mkt-client-address", "203.0.113.7")], peer="ipv4:127.0.0.1:5000")
    assert record.as_dict() == {
        "workspace": "acme", "principal": "alice@example.com", "via": "jwt",
        "action": f"{CAMPAIGNS}/UpdateCampaign", "resource": "workspaces/acme/campaigns/c1", "time": NOW,
        "source_address": "203.0.113.7", "status": "OK", "etag_before": 'W/"3"', "etag_after": 'W/"4"'}


def test_a_create_records_the_created_name_from_the_response_and_no_secret():
    request = integrations_service_pb2.CreateApiKeyRequest(parent="workspaces/acme", api_key=api_key_pb2.ApiKey())
    response = api_key_pb2.ApiKey(name="workspaces/acme/apiKeys/k123")
    record = build_record(service=INTEGRATIONS, method="CreateApiKey", identity=KEY, request=request,
                          response=response, status="OK", time=NOW, peer="ipv4:10.1.2.3:4444")
    assert (record.resource, record.principal, record.via, record.source_address) == (
        "workspaces/acme/apiKeys/k123", "workspaces/acme/apiKeys/k1", "key", "10.1.2.3")
    assert build_record(service=INTEGRATIONS, method="CreateApiKey", identity=None, request=request,
                        response=response, status="OK", time=NOW) is None  # from inside the mesh
    assert "mk_" not in repr(record)


def test_a_failed_write_is_recorded_with_its_status_and_the_parent_without_an_etag_after():
    request = integrations_service_pb2.CreateApiKeyRequest(parent="workspaces/acme")
    record = build_record(service=INTEGRATIONS, method="CreateApiKey", identity=ALICE, request=request,
                          response=None, status="INVALID_ARGUMENT", time=NOW)
    assert (record.resource, record.status, record.etag_after) == ("workspaces/acme", "INVALID_ARGUMENT", "")


def test_reads_public_calls_and_calls_naming_no_workspace_are_not_recorded():
    get = campaign_service_pb2.GetCampaignRequest(name="workspaces/acme/campaigns/c1")
    assert build_record(service=CAMPAIGNS, method="GetCampaign", identity=ALICE, request=get, response=None,
                        status="OK", time=NOW) is None
    assert build_record(service=CAMPAIGNS, method="TrackClick", identity=None, request=get, response=None,
                        status="OK", time=NOW) is None
    keys = integrations_service_pb2.ListApiKeysRequest(parent="workspaces/acme")
    assert build_record(service=INTEGRATIONS, method="ListApiKeys", identity=ALICE, request=keys, response=None,
                        status="OK", time=NOW) is None  # admin-only, but a read
    nameless = campaign_service_pb2.UpdateCampaignRequest()
    assert build_record(service=CAMPAIGNS, method="UpdateCampaign", identity=ALICE, request=nameless,
                        response=None, status="OK", time=NOW) is None


def test_the_source_address_falls_back_to_the_peer():
    assert source_address([], "ipv6:[::1]:5000") == "::1"
    assert source_address([("x-mkt-client-address", b"198.51.100.2")], "ipv4:1.2.3.4:1") == "198.51.100.2"
    assert source_address([("x-forwarded-for", "198.51.100.2")], "ipv4:1.2.3.4:1") == "1.2.3.4"
    assert source_address([], "unix:/tmp/s") == "unix:/tmp/s"
