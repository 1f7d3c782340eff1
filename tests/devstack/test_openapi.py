"""devstack/tools/openapi.py: the OpenAPI document generated from the descriptor set describes what the
Envoy transcoder accepts and answers (the e2e suite fuzzes the edge with it)."""

from __future__ import annotations

import json

import pytest
import schemathesis

from devstack.tools import openapi


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi.generate()


def _op(document, path, verb):
    return document["paths"][path][verb]


def test_committed_document_is_fresh(document):
    assert json.loads(openapi.OPENAPI_DOCUMENT.read_text(encoding="utf-8")) == document
    assert openapi.main(["--check"]) == 0


def test_schemathesis_loads_every_operation():
    schema = schemathesis.openapi.from_path(str(openapi.OPENAPI_DOCUMENT))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 140
    ids = [op.definition.raw["operationId"] for op in operations]
    assert len(ids) == len(set(ids))


def test_resource_name_becomes_one_parameter_per_segment(document):
    operation = _op(document, "/v1/workspaces/{workspace}/campaigns/{campaign}:schedule", "post")
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"workspace", "campaign"}
    assert "`name` = `workspaces/{workspace}/campaigns/{campaign}`" in params["campaign"]["description"]
    assert params["workspace"]["schema"]["pattern"] == openapi.WORKSPACE_PATTERN
    # body "*": the request without the field bound to the path
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert "name" not in body["properties"] and "etag" in body["properties"]
    assert "/v1/workspaces/{workspace}/templates/{template}/versions/{version}:render" in document["paths"]


def test_query_parameters_are_dotted_json_names_with_proto3_json_types(document):
    report = _op(document, "/v1/workspaces/{workspace}/campaigns/{campaign}/report", "get")
    query = {p["name"]: p for p in report["parameters"] if p["in"] == "query"}
    assert query["interval.startTime"]["schema"]["format"] == "date-time"
    assert "conversionEventType" in query
    update = _op(document, "/v1/workspaces/{workspace}/campaigns/{campaign}", "patch")
    mask = next(p for p in update["parameters"] if p["name"] == "updateMask")
    assert mask["required"] and mask["schema"]["type"] == "string"
    create = _op(document, "/v1/workspaces/{workspace}/campaigns", "post")
    assert {"campaignId", "requestId"} <= {p["name"] for p in create["parameters"]}
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/marketing.campaign.v1.Campaign"}


def test_schemas_follow_proto3_json_and_field_behaviours(document):
    schemas = document["components"]["schemas"]
    campaign = schemas["marketing.campaign.v1.Campaign"]
    assert campaign["required"] == ["displayName"]
    props = campaign["properties"]
    assert props["labels"] == {**props["labels"], "type": "object", "additionalProperties": {"type": "string"}}
    assert props["createTime"]["readOnly"] and props["createTime"]["format"] == "date-time"
    assert props["state"]["readOnly"] and props["state"]["allOf"] == [
        {"$ref": "#/components/schemas/marketing.campaign.v1.Campaign.State"}]
    assert schemas["marketing.campaign.v1.Campaign.State"]["enum"][0] == "STATE_UNSPECIFIED"
    size = schemas["marketing.content.v1.Asset"]["properties"]["sizeBytes"]
    assert size["type"] == "string" and size["format"] == "int64"
    money = schemas["google.type.Money"]["properties"]
    assert set(money) == {"currencyCode", "units", "nanos"}
    attribute = schemas["marketing.common.v1.Attribute"]
    assert "x-oneofs" in attribute and "Oneof `value`" in attribute["description"]
    create_asset = _op(document, "/v1/workspaces/{workspace}/assets", "post")
    data = create_asset["requestBody"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert data["format"] == "byte"


def test_errors_streams_and_http_bodies(document):
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}
    assert set(document["components"]["schemas"]["Error"]["required"]) == {"code", "message"}
    stream = _op(document, "/v1/workspaces/{workspace}/segments/{segment}/members:stream", "post")
    assert stream["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    imported = _op(document, "/v1/workspaces/{workspace}/profiles:import", "post")
    assert imported["requestBody"]["content"]["application/json"]["schema"]["type"] == "array"
    export = _op(document, "/v1/workspaces/{workspace}/campaigns/{campaign}/report:export", "get")
    assert list(export["responses"]["200"]["content"]) == ["text/csv"]
    click = _op(document, "/v1/workspaces/{workspace}/messages/{message}:click", "get")
    assert "302" in click["responses"] and "200" not in click["responses"]
    upload = _op(document, "/v1/workspaces/{workspace}/assets:upload", "post")
    assert list(upload["requestBody"]["content"]) == ["*/*"]
    assert "displayName" in {p["name"] for p in upload["parameters"]}


def test_an_http_body_method_without_a_content_type_is_refused(monkeypatch):
    monkeypatch.delitem(openapi.HTTP_BODY_RESPONSES, "marketing.analytics.v1.AnalyticsService.ExportCampaignReport")
    with pytest.raises(SystemExit, match="ExportCampaignReport"):
        openapi.generate()
