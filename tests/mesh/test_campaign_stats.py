"""GetCampaignStats: the campaign always, the analytics service's report when it answers in time,
else `reporting_degraded` with the reason (svc_campaign/adapters/peers.py GrpcAnalytics)."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from devstack.processes import free_port
from marketing.analytics.v1 import analytics_service_pb2_grpc, campaign_report_pb2
from marketing.campaign.v1 import campaign_service_pb2 as pb
from svc_campaign.adapters.peers import GrpcAnalytics
from svc_campaign.domain import commands
from svc_campaign.domain.delivery import Spend, Tally
from svc_campaign.domain.model import CampaignFields
from svc_campaign.domain.values import Channel
from svc_campaign.entrypoints.grpc_servicer import CampaignServicer
from svc_campaign.service_layer import handlers
from svc_kit.errors import NotFound
from tests.fakes import NOW, FakeDatabase, FakeUnitOfWork


class Reports(analytics_service_pb2_grpc.AnalyticsServiceServicer):
    """GetCampaignReport answers a report after `delay` seconds; every other method (the base
    class) answers UNIMPLEMENTED, as the analytics service does today."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.answered = 0  # reports that waited out their delay

    async def GetCampaignReport(self, request, context):
        await asyncio.sleep(self.delay)
        self.answered += 1
        return campaign_report_pb2.CampaignReport(
            name=request.name, totals=campaign_report_pb2.ReportMetrics(sent=120, delivered=118))


async def _server(servicer) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    analytics_service_pb2_grpc.add_AnalyticsServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


def _servicer(analytics) -> tuple[CampaignServicer, str]:
    database = FakeDatabase()
    ids = iter(f"c{i}" for i in range(100))
    campaign = handlers.create_campaign(commands.CreateCampaign("acme", CampaignFields(display_name="Spring sale")),
                                        FakeUnitOfWork(database), lambda: NOW, lambda: next(ids))
    servicer = CampaignServicer(lambda: FakeUnitOfWork(database), lambda: NOW, lambda: next(ids), None, analytics)
    return servicer, f"workspaces/acme/campaigns/{campaign.id}/stats"


def _analytics(port: int, timeout: float = 2.0) -> GrpcAnalytics:
    return GrpcAnalytics(lambda: grpc.aio.insecure_channel(f"127.0.0.1:{port}"), timeout=timeout)


async def test_with_a_report_the_stats_carry_it():
    server, port = await _server(Reports())
    try:
        servicer, name = _servicer(_analytics(port))
        stats = await servicer.GetCampaignStats(pb.GetCampaignStatsRequest(name=name), None)
    finally:
        await server.stop(0)
    assert stats.campaign.display_name == "Spring sale" and stats.name == name
    assert not stats.reporting_degraded and stats.degraded_reason == ""
    assert stats.report.totals.sent == 120 and stats.report.name == name.removesuffix("/stats") + "/report"


async def test_unimplemented_analytics_means_reporting_degraded():
    server, port = await _server(analytics_service_pb2_grpc.AnalyticsServiceServicer())
    try:
        servicer, name = _servicer(_analytics(port))
        stats = await servicer.GetCampaignStats(pb.GetCampaignStatsRequest(name=name), None)
    finally:
        await server.stop(0)
    assert stats.campaign.display_name == "Spring sale"
    assert stats.reporting_degraded and not stats.HasField("report")
    assert stats.degraded_reason.startswith("the analytics service does not compute campaign reports yet (UNIMPLEMENTED")


async def test_an_analytics_service_that_is_down_means_reporting_degraded():
    servicer, name = _servicer(_analytics(free_port()))
    stats = await servicer.GetCampaignStats(pb.GetCampaignStatsRequest(name=name), None)
    assert stats.reporting_degraded
    assert stats.degraded_reason.startswith("the analytics service is unavailable (UNAVAILABLE")


# The stats answer while the slow report is still being prepared (`answered` is still 0): the
# caller's deadline, not the report, ends the wait; the reason names the deadline that did.
async def test_a_slow_analytics_service_is_not_waited_for():
    reports = Reports(delay=2.0)
    server, port = await _server(reports)
    try:
        servicer, name = _servicer(_analytics(port, timeout=0.3))
        stats = await servicer.GetCampaignStats(pb.GetCampaignStatsRequest(name=name), None)
        assert reports.answered == 0
    finally:
        await server.stop(0)
    assert stats.reporting_degraded
    assert stats.degraded_reason == "the analytics service did not answer within 0.3 s (DEADLINE_EXCEEDED)"


async def test_by_default_an_analytics_service_5_s_late_is_given_up_on_after_1_s():
    reports = Reports(delay=5.0)
    server, port = await _server(reports)
    try:
        analytics = GrpcAnalytics(lambda: grpc.aio.insecure_channel(f"127.0.0.1:{port}"))
        assert analytics.timeout == 1.0
        servicer, name = _servicer(analytics)
        stats = await servicer.GetCampaignStats(pb.GetCampaignStatsRequest(name=name), None)
        assert reports.answered == 0
    finally:
        await server.stop(0)
    assert stats.reporting_degraded and stats.campaign.display_name == "Spring sale"
    assert stats.degraded_reason == "the analytics service did not answer within 1 s (DEADLINE_EXCEEDED)"


class NoEvents(analytics_service_pb2_grpc.AnalyticsServiceServicer):
    async def GetCampaignReport(self, request, context):
        await context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name}: no events were recorded")


async def test_a_campaign_analytics_has_no_events_of_gets_a_report_of_zeros_not_degraded():
    server, port = await _server(NoEvents())
    try:
        servicer, name = _servicer(_analytics(port))
        stats = await servicer.GetCampaignStats(pb.GetCampaignStatsRequest(name=name), None)
    finally:
        await server.stop(0)
    assert not stats.reporting_degraded
    assert stats.report.name == name.removesuffix("/stats") + "/report" and stats.report.totals.sent == 0


async def test_without_an_analytics_client_reporting_is_degraded():
    servicer, name = _servicer(None)
    stats = await servicer.GetCampaignStats(pb.GetCampaignStatsRequest(name=name), None)
    assert stats.reporting_degraded and stats.degraded_reason == "no analytics service is configured"


async def test_an_unknown_campaign_is_not_found_without_asking_analytics():
    servicer, _ = _servicer(_analytics(free_port()))
    with pytest.raises(NotFound):
        await servicer.GetCampaignStats(pb.GetCampaignStatsRequest(name="workspaces/acme/campaigns/nope/stats"), None)


async def test_the_stats_carry_the_spend_per_channel_and_the_message_counts():
    database = FakeDatabase()
    campaign = handlers.create_campaign(commands.CreateCampaign("acme", CampaignFields(display_name="Spring sale")),
                                        FakeUnitOfWork(database), lambda: NOW, lambda: "c1")
    database.tallies[campaign.id] = Tally(known=3, final=2, spend=(Spend(Channel.SMS, "EUR", 2, 1_250_000),))
    servicer = CampaignServicer(lambda: FakeUnitOfWork(database), lambda: NOW, lambda: "x", None, None)
    stats = await servicer.GetCampaignStats(pb.GetCampaignStatsRequest(name="workspaces/acme/campaigns/c1/stats"), None)
    [spend] = stats.spend
    assert (spend.channel, spend.spent.currency_code, spend.spent.units, spend.spent.nanos, spend.messages_sent) == (
        2, "EUR", 1, 250_000_000, 2)
    assert (stats.messages_known, stats.messages_final, stats.pause_reason) == (3, 2, "")
