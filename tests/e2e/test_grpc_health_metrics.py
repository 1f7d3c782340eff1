"""gRPC straight to the services and through the edge; health and metrics."""

from __future__ import annotations

import importlib
import urllib.request

import grpc
import pytest
from google.protobuf import message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from marketing.campaign.v1 import campaign_pb2, campaign_service_pb2, campaign_service_pb2_grpc
from svc_kit.services import SERVICES

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_every_service_reports_serving(running, spec):
    with running.channel(spec.name) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", spec.grpc_service):
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as unknown:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_every_service_offers_reflection(running, spec):
    with running.channel(spec.name) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                                   timeout=5))
        names = {s.name for s in responses[0].list_services_response.service}
        assert spec.grpc_service in names
        assert "grpc.health.v1.Health" in names


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_every_metrics_port_serves_grpc_server_metrics(running, spec):
    with running.channel(spec.name) as channel:  # make sure at least one RPC was counted
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    url = f"http://127.0.0.1:{running.metrics_ports[spec.name]}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    assert 'grpc_server_handled_total{grpc_code="OK",grpc_method="Check",grpc_service="grpc.health.v1.Health"' \
        in text
    assert "grpc_server_handling_seconds_bucket" in text


def test_grpc_through_the_edge_port(running):
    credentials = (("authorization", f"Bearer {running.rest.token}"),)
    with grpc.insecure_channel(f"127.0.0.1:{running.edge_port}") as channel:
        stub = campaign_service_pb2_grpc.CampaignServiceStub(channel)
        created = stub.CreateCampaign(campaign_service_pb2.CreateCampaignRequest(
            parent="workspaces/acme", campaign=campaign_pb2.Campaign(display_name="via edge")), timeout=5,
            metadata=credentials)
        got = stub.GetCampaign(campaign_service_pb2.GetCampaignRequest(name=created.name), timeout=5,
                               metadata=credentials)
        assert got == created
        with pytest.raises(grpc.RpcError) as missing:
            stub.GetCampaign(campaign_service_pb2.GetCampaignRequest(
                name=created.name.replace("acme", "other")), timeout=5, metadata=credentials)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as anonymous:  # gRPC through the edge needs credentials too
            stub.GetCampaign(campaign_service_pb2.GetCampaignRequest(name=created.name), timeout=5)
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("spec", [s for s in SERVICES if not s.implements("*")], ids=lambda s: s.name)
def test_placeholder_rpcs_answer_unimplemented_over_grpc(running, spec):
    module = importlib.import_module(f"marketing.{spec.name}.v1.{spec.name}_service_pb2")
    service = module.DESCRIPTOR.services_by_name[spec.grpc_service.rsplit(".", 1)[1]]
    unary = [m for m in service.methods
             if not m.client_streaming and not m.server_streaming and not spec.implements(m.name)]
    assert unary
    with running.channel(spec.name) as channel:
        for method in unary:
            request_class = message_factory.GetMessageClass(method.input_type)
            call = channel.unary_unary(f"/{service.full_name}/{method.name}",
                                       request_serializer=request_class.SerializeToString,
                                       response_deserializer=lambda raw: raw)
            with pytest.raises(grpc.RpcError) as error:
                call(request_class(), timeout=5)
            assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED, method.name
            assert method.name in error.value.details()
