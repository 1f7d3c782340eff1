"""Rules on one field that the protos hold for every service (svc_kit.validation enforces them in the
server interceptor): every List request refuses a negative page size, the funnel's lengths and labels."""

import importlib

import pytest
from google.protobuf import descriptor_pool, message_factory

from marketing.analytics.v1 import analytics_service_pb2, funnel_pb2
from svc_kit.services import SERVICES
from svc_kit.validation import violations_of


def list_requests():
    for spec in SERVICES:
        package = spec.grpc_service.rsplit(".", 1)[0]
        importlib.import_module(f"{package}.{spec.name}_service_pb2")
        for method in descriptor_pool.Default().FindServiceByName(spec.grpc_service).methods:
            if "page_size" in method.input_type.fields_by_name:
                yield message_factory.GetMessageClass(method.input_type)


LIST_REQUESTS = list(list_requests())


def test_there_are_list_requests():
    assert len(LIST_REQUESTS) >= 20


@pytest.mark.parametrize("request_class", LIST_REQUESTS, ids=lambda c: c.DESCRIPTOR.name)
def test_every_list_request_refuses_a_negative_page_size(request_class):
    assert [v.field for v in violations_of(request_class(page_size=-1))] == ["page_size"]
    assert violations_of(request_class(page_size=0)) == violations_of(request_class(page_size=5000)) == []


@pytest.mark.parametrize(("funnel", "field"), [
    (dict(display_name="x" * 201), "funnel.display_name"),
    (dict(description="x" * 5001), "funnel.description"),
    (dict(steps=[funnel_pb2.FunnelStep(event_type="a")] * 11), "funnel.steps"),
    (dict(steps=[funnel_pb2.FunnelStep(event_type="a", display_name="x" * 201)]), "funnel.steps[0].display_name"),
    (dict(labels={"Team": "x"}), "funnel.labels['Team']"),
    (dict(labels={"team": "x" * 64}), "funnel.labels['team']"),
    (dict(labels={f"k{i}": "x" for i in range(65)}), "funnel.labels"),
])
def test_funnel_rules_name_the_field(funnel, field):
    request = analytics_service_pb2.CreateFunnelRequest(parent="workspaces/acme", funnel=funnel_pb2.Funnel(**funnel))
    assert [v.field for v in violations_of(request)] == [field]


def test_a_request_type_without_rules_is_known_as_such():
    from marketing.campaign.v1 import campaign_service_pb2
    from marketing.content.v1 import content_service_pb2
    from svc_kit.validation import has_rules

    assert not has_rules(campaign_service_pb2.GetCampaignRequest.DESCRIPTOR)
    assert has_rules(campaign_service_pb2.CreateCampaignRequest.DESCRIPTOR)  # campaign.display_name, nested
    assert has_rules(campaign_service_pb2.ListCampaignsRequest.DESCRIPTOR)  # page_size
    # RenderTemplateRequest holds a google.protobuf.Struct (a recursive type) and no rule.
    assert not has_rules(content_service_pb2.RenderTemplateRequest.DESCRIPTOR)


def _create_requests():
    from marketing.analytics.v1 import analytics_service_pb2 as analytics
    from marketing.audience.v1 import audience_service_pb2 as audience
    from marketing.campaign.v1 import campaign_service_pb2 as campaign
    from marketing.content.v1 import content_service_pb2 as content
    from marketing.notify.v1 import notify_service_pb2 as notify

    letter_first = ("Bad_Id", "9lives", "-x", "a" * 64)
    return [
        (campaign.CreateCampaignRequest, "campaign_id", ("Spring", "-spring", "a" * 64), ("9lives", "a" * 63)),
        (audience.CreateSegmentRequest, "segment_id", ("Vip", "-vip", "a" * 64), ("9lives", "a" * 63)),
        (audience.CreateSegmentSnapshotRequest, "segment_snapshot_id", ("X", "a" * 64), ("launch-1",)),
        (audience.CreateLookalikeRequest, "lookalike_id", ("Not_OK", "9x", "a" * 54), ("like-vip", "a" * 53)),
        (content.CreateTemplateRequest, "template_id", letter_first, ("spring", "a" * 63)),
        (content.CreateAssetRequest, "asset_id", letter_first, ("logo",)),
        (content.UploadAssetRequest, "asset_id", letter_first, ("logo",)),
        (notify.CreateProviderRequest, "provider_id", letter_first, ("sms-main",)),
        (analytics.CreateFunnelRequest, "funnel_id", letter_first, ("checkout",)),
    ]


@pytest.mark.parametrize(("request_class", "field", "bad", "good"), _create_requests(),
                         ids=lambda x: getattr(x, "DESCRIPTOR", None) and x.DESCRIPTOR.name)
def test_chosen_ids_have_their_format_and_may_be_left_out(request_class, field, bad, good):
    for value in bad:
        assert [v.field for v in violations_of(request_class(**{field: value}))] == [field], value
    for value in (*good, ""):
        assert violations_of(request_class(**{field: value})) == [], value


def test_every_request_id_is_at_most_128_characters():
    found = []
    for spec in SERVICES:
        for method in descriptor_pool.Default().FindServiceByName(spec.grpc_service).methods:
            if "request_id" in method.input_type.fields_by_name:
                request_class = message_factory.GetMessageClass(method.input_type)
                found.append(method.name)
                assert violations_of(request_class(request_id="r" * 128)) == []
                assert [v.field for v in violations_of(request_class(request_id="r" * 129))] == ["request_id"]
    assert len(found) >= 10


def test_a_change_note_is_at_most_1000_characters():
    from marketing.content.v1 import content_service_pb2

    assert violations_of(content_service_pb2.PublishTemplateRequest(change_note="x" * 1000)) == []
    assert [v.field for v in violations_of(content_service_pb2.PublishTemplateRequest(change_note="x" * 1001))] == [
        "change_note"]


def test_batches_have_their_size_limits():
    from marketing.audience.v1 import audience_service_pb2 as audience
    from marketing.content.v1 import content_service_pb2 as content
    from marketing.notify.v1 import notify_service_pb2 as notify

    def fields(request):
        return [v.field for v in violations_of(request)]

    assert fields(audience.ImportProfilesRequest(records=[audience.ProfileRecord()] * 1000)) == []
    assert fields(audience.ImportProfilesRequest(records=[audience.ProfileRecord()] * 1001)) == ["records"]
    assert fields(audience.ImportSuppressionsRequest(records=[audience.SuppressionRecord()] * 1001)) == ["records"]
    assert fields(content.BatchRenderTemplateRequest(contexts=[content.RenderContext()] * 1001)) == ["contexts"]
    assert fields(notify.BatchSendMessagesRequest(requests=[notify.SendMessageRequest()] * 1000)) == []
    assert fields(notify.BatchSendMessagesRequest(requests=[notify.SendMessageRequest()] * 1001)) == ["requests"]
    assert fields(notify.BatchSendMessagesRequest()) == ["requests"]
    assert fields(notify.MarkInboxItemsReadRequest(items=["x"] * 1001)) == ["items"]
