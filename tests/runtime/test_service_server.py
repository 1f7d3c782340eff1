"""The shared runtime in-process: graceful shutdown, error mapping, trace
context in logs and OTLP export, undecodable requests, configuration errors."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from concurrent import futures

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.trace.v1 import (
    trace_service_pb2,
    trace_service_pb2_grpc,
)

from devstack.processes import free_port
from marketing.campaign.v1 import (
    campaign_pb2,
    campaign_service_pb2,
    campaign_service_pb2_grpc,
)
from svc_kit.config import load_settings
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.logs import JsonFormatter
from svc_kit.server import Mounted, ServiceServer
from svc_kit.services import BY_NAME
from svc_kit.tracing import configure_tracing, shutdown_tracing

SPEC = BY_NAME["campaign"]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class SlowServicer(campaign_service_pb2_grpc.CampaignServiceServicer):
    def __init__(self):
        self.entered = asyncio.Event()

    async def GetCampaign(self, request, context):
        logging.getLogger("test.servicer").info("handling get", extra={"campaign": request.name})
        if request.name.endswith("/slow"):
            self.entered.set()
            await asyncio.sleep(0.5)
        if request.name.endswith("/bad"):
            raise InvalidArgument([FieldViolation("name", "is bad"), FieldViolation("name", "is still bad")])
        if request.name.endswith("/boom"):
            raise RuntimeError("secret internal detail")
        return campaign_pb2.Campaign(name=request.name)


@pytest.fixture
async def server():
    configure_tracing("campaign", None)
    env = {"MKT_CAMPAIGN_GRPC_PORT": str(free_port()), "MKT_CAMPAIGN_METRICS_PORT": str(free_port()),
           "MKT_SHUTDOWN_GRACE_SECONDS": "5"}
    servicer = SlowServicer()
    mounted = Mounted(lambda s: campaign_service_pb2_grpc.add_CampaignServiceServicer_to_server(servicer, s))
    service = ServiceServer(load_settings(SPEC, env), mounted)
    await service.start()
    service.servicer = servicer
    yield service
    await service.stop()


def stub(service) -> campaign_service_pb2_grpc.CampaignServiceStub:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    return campaign_service_pb2_grpc.CampaignServiceStub(channel)


async def test_in_flight_call_finishes_during_graceful_shutdown(server):
    client = stub(server)
    slow = asyncio.ensure_future(client.GetCampaign(campaign_service_pb2.GetCampaignRequest(name="x/slow")))
    await server.servicer.entered.wait()
    stopping = asyncio.ensure_future(server.stop())
    await asyncio.sleep(0.1)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub(server).GetCampaign(campaign_service_pb2.GetCampaignRequest(name="x/fast"), timeout=2)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    response = await slow
    assert response.name == "x/slow"
    await stopping


async def test_service_error_carries_field_violations(server):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub(server).GetCampaign(campaign_service_pb2.GetCampaignRequest(name="x/bad"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error.value)
    bad_request = error_details_pb2.BadRequest()
    assert status.details[-1].Unpack(bad_request)
    assert [v.description for v in bad_request.field_violations] == ["is bad", "is still bad"]


async def test_unexpected_error_is_internal_without_details(server):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub(server).GetCampaign(campaign_service_pb2.GetCampaignRequest(name="x/boom"))
    assert error.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in error.value.details()
    assert "Traceback" not in error.value.details()


async def test_undecodable_request_is_invalid_argument(server):
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    raw = channel.unary_unary("/marketing.campaign.v1.CampaignService/GetCampaign",
                              request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await raw(b"\x0a\xff\xff\xff\xff\x0f")  # field 1 claims a length far past the end
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_logs_carry_the_callers_trace_id(server):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("campaign"))
    logger = logging.getLogger("test.servicer")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        await stub(server).GetCampaign(campaign_service_pb2.GetCampaignRequest(name="x/traced"),
                                       metadata=(("traceparent", TRACEPARENT),))
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["message"] == "handling get"
    assert entry["trace_id"] == TRACE_ID
    assert len(entry["span_id"]) == 16 and entry["span_id"] != "00f067aa0ba902b7"
    assert entry["campaign"] == "x/traced"


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self):
        self.spans = []

    def Export(self, request, context):
        for resource_spans in request.resource_spans:
            for scope in resource_spans.scope_spans:
                self.spans.extend(scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


async def test_spans_are_exported_over_otlp_with_the_incoming_trace(server):
    collector = Collector()
    otlp = grpc.server(futures.ThreadPoolExecutor(2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, otlp)
    port = otlp.add_insecure_port("127.0.0.1:0")
    otlp.start()
    try:
        configure_tracing("campaign", f"http://127.0.0.1:{port}")
        await stub(server).GetCampaign(campaign_service_pb2.GetCampaignRequest(name="x/exported"),
                                       metadata=(("traceparent", TRACEPARENT),))
    finally:
        shutdown_tracing()  # flushes the batch processor
        otlp.stop(0)
    spans = [s for s in collector.spans if s.name == "marketing.campaign.v1.CampaignService/GetCampaign"]
    assert spans, [s.name for s in collector.spans]
    assert spans[0].trace_id.hex() == TRACE_ID


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("MKT_CAMPAIGN_GRPC_PORT", "http", "MKT_CAMPAIGN_GRPC_PORT='http' is not a port number"),
    ("MKT_LOG_LEVEL", "LOUD", "MKT_LOG_LEVEL='LOUD' must be one of"),
    ("MKT_CAMPAIGN_DATABASE_URL", "mysql://x/y", "only sqlite and postgresql"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317", "is not an http(s)://host:port URL"),
])
def test_bad_configuration_stops_with_one_clear_line(tmp_path, variable, value, expected):
    env = {**os.environ, "MKT_STATE_DIR": str(tmp_path), "MKT_CAMPAIGN_GRPC_PORT": str(free_port()),
           "MKT_CAMPAIGN_METRICS_PORT": str(free_port()), variable: value}
    result = subprocess.run([sys.executable, "-m", "svc_campaign"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert expected in last
    assert "Traceback" not in result.stderr


class MetadataServicer(campaign_service_pb2_grpc.CampaignServiceServicer):
    def __init__(self):
        self.metadata = {}

    async def GetCampaign(self, request, context):
        self.metadata = dict(context.invocation_metadata())
        return campaign_pb2.Campaign(name=request.name)


async def test_outgoing_calls_carry_the_current_trace():
    from opentelemetry import trace

    from svc_kit.tracing import traced_channel

    configure_tracing("campaign", None)
    servicer = MetadataServicer()
    env = {"MKT_CAMPAIGN_GRPC_PORT": str(free_port()), "MKT_CAMPAIGN_METRICS_PORT": str(free_port())}
    mounted = Mounted(lambda s: campaign_service_pb2_grpc.add_CampaignServiceServicer_to_server(servicer, s))
    service = ServiceServer(load_settings(SPEC, env), mounted)
    await service.start()
    try:
        with trace.get_tracer("test").start_as_current_span("caller") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            async with traced_channel(f"127.0.0.1:{service.port}") as channel:
                await campaign_service_pb2_grpc.CampaignServiceStub(channel).GetCampaign(
                    campaign_service_pb2.GetCampaignRequest(name="x/y"))
    finally:
        await service.stop()
    assert servicer.metadata["traceparent"].split("-")[1] == trace_id
