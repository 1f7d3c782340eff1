"""The protos' validation rules are enforced by the one server interceptor for every RPC of every
service: the interceptor validates each decoded request before the servicer sees it, and a broken
rule answers INVALID_ARGUMENT with google.rpc.BadRequest field violations named as in the API."""

from __future__ import annotations

import importlib

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from devstack.processes import free_port
from marketing.campaign.v1 import (
    campaign_pb2,
    campaign_service_pb2,
    campaign_service_pb2_grpc,
)
from svc_kit import interceptor as interceptor_module
from svc_kit.config import load_settings
from svc_kit.interceptor import ServerInterceptor
from svc_kit.metrics import GrpcServerMetrics
from svc_kit.server import Mounted, ServiceServer
from svc_kit.services import BY_NAME, SERVICES


def every_method():
    """(service spec, method descriptor) for every RPC of every service of the platform."""
    for spec in SERVICES:
        package = spec.grpc_service.rsplit(".", 1)[0]  # marketing.campaign.v1
        importlib.import_module(f"{package}.{spec.name}_service_pb2")
        service = descriptor_pool.Default().FindServiceByName(spec.grpc_service)
        for method in service.methods:
            yield spec, method


METHODS = list(every_method())


def test_every_service_has_methods():
    assert {spec.name for spec, _ in METHODS} == set(BY_NAME)
    assert len(METHODS) > 50


class _Details:
    def __init__(self, method: str):
        self.method = method
        self.invocation_metadata = ()


class _Context:
    def invocation_metadata(self):
        return ()


@pytest.mark.parametrize(("spec", "method"), METHODS, ids=lambda m: getattr(m, "full_name", None))
async def test_the_interceptor_validates_every_rpcs_request(spec, method, monkeypatch):
    """Each RPC, wrapped as the servers wrap it, hands its decoded request to check_request before
    the servicer runs."""
    request_class = message_factory.GetMessageClass(method.input_type)
    checked = []
    real_check = interceptor_module.check_request
    monkeypatch.setattr(interceptor_module, "check_request", lambda m: (checked.append(m), real_check(m)))
    seen = []

    streaming_in, streaming_out = method.client_streaming, method.server_streaming

    async def behavior(request, context):
        if streaming_in:
            request = [item async for item in request][0]
        seen.append((list(checked), request))
        return [request] if streaming_out else request

    make = {(False, False): grpc.unary_unary_rpc_method_handler,
            (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler}[(streaming_in, streaming_out)]
    handler = make(behavior, request_deserializer=request_class.FromString)

    async def continuation(_):
        return handler

    path = f"/{spec.grpc_service}/{method.name}"
    wrapped = await ServerInterceptor(GrpcServerMetrics()).intercept_service(continuation, _Details(path))
    call = (wrapped.unary_unary or wrapped.unary_stream or wrapped.stream_unary or wrapped.stream_stream)
    raw = request_class().SerializeToString()
    if streaming_in:
        async def raws():
            yield raw
        argument = raws()
    else:
        argument = raw
    try:
        if streaming_out:
            [item async for item in call(argument, _Context())]
        else:
            await call(argument, _Context())
    except Exception:  # noqa: BLE001 - an empty request may break a rule: the abort needs a real context
        pass
    assert checked and type(checked[0]) is request_class
    assert not seen or seen[0][0], "the servicer ran before its request was validated"


# -- through a real server ---------------------------------------------------------------------------

class RecordingServicer(campaign_service_pb2_grpc.CampaignServiceServicer):
    def __init__(self):
        self.calls = []

    async def CreateCampaign(self, request, context):
        self.calls.append(request)
        return request.campaign


@pytest.fixture
async def server():
    env = {"MKT_CAMPAIGN_GRPC_PORT": str(free_port()), "MKT_CAMPAIGN_METRICS_PORT": str(free_port())}
    servicer = RecordingServicer()
    mounted = Mounted(lambda s: campaign_service_pb2_grpc.add_CampaignServiceServicer_to_server(servicer, s))
    service = ServiceServer(load_settings(BY_NAME["campaign"], env), mounted)
    await service.start()
    service.servicer = servicer
    yield service
    await service.stop()


async def test_a_broken_rule_answers_invalid_argument_with_field_violations(server):
    stub = campaign_service_pb2_grpc.CampaignServiceStub(grpc.aio.insecure_channel(f"127.0.0.1:{server.port}"))
    bad = campaign_pb2.Campaign(display_name="x" * 201, labels={"Team": "growth"},
                                ab_test=campaign_pb2.AbTest(test_share_percent=100))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.CreateCampaign(campaign_service_pb2.CreateCampaignRequest(parent="workspaces/acme", campaign=bad))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details().startswith("campaign.display_name: must be at most 200 characters (and 2 more)")
    bad_request = error_details_pb2.BadRequest()
    assert rpc_status.from_call(error.value).details[-1].Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("campaign.display_name", "must be at most 200 characters"),
        ("campaign.labels['Team']", "key does not match regex pattern `^[a-z][a-z0-9_-]{0,62}$`"),
        ("campaign.ab_test.test_share_percent", "must be greater than 0 and less than 100"),
    ]
    assert server.servicer.calls == []
    good = campaign_pb2.Campaign(display_name="x" * 200, labels={"team": "growth"})
    assert (await stub.CreateCampaign(campaign_service_pb2.CreateCampaignRequest(campaign=good))) == good
    assert len(server.servicer.calls) == 1
