"""Floors for bench/edge: GetCampaign answered from memory, no database.

    python -m bench.floor_server          the shared runtime (svc_kit server,
                                          interceptor, metrics, tracing)
    python -m bench.floor_server --bare   a bare grpc.aio server, nothing else
    python -m bench.floor_server --no-validation
                                          the shared runtime without the request
                                          validation (protovalidate), to measure it

Ports come from MKT_CAMPAIGN_GRPC_PORT and MKT_CAMPAIGN_METRICS_PORT.
"""

from __future__ import annotations

import asyncio
import sys

import grpc

from marketing.campaign.v1 import campaign_pb2, campaign_service_pb2_grpc
from svc_kit.config import load_settings
from svc_kit.logs import configure_logging
from svc_kit.server import Mounted, serve_until_signalled
from svc_kit.services import BY_NAME
from svc_kit.tracing import configure_tracing


class MemoryServicer(campaign_service_pb2_grpc.CampaignServiceServicer):
    def __init__(self, campaign: campaign_pb2.Campaign):
        self.campaign = campaign

    async def GetCampaign(self, request, context):
        return self.campaign


async def _bare(servicer: MemoryServicer, port: int) -> None:
    server = grpc.aio.server()
    campaign_service_pb2_grpc.add_CampaignServiceServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    settings = load_settings(BY_NAME["campaign"])
    configure_logging("bench-floor", "WARNING")
    configure_tracing("bench-floor", None)
    campaign = campaign_pb2.Campaign(name="workspaces/bench/campaigns/floor", display_name="Bench",
                                     labels={"team": "perf", "tier": "gold"}, etag="0123456789abcdef")
    servicer = MemoryServicer(campaign)
    if "--bare" in sys.argv:
        asyncio.run(_bare(servicer, settings.grpc_port))
        return
    if "--no-validation" in sys.argv:  # the bench's baseline only: every service validates its requests
        from svc_kit import interceptor

        interceptor.check_request = lambda request: None
    mounted = Mounted(lambda s: campaign_service_pb2_grpc.add_CampaignServiceServicer_to_server(servicer, s))
    asyncio.run(serve_until_signalled(settings, mounted))


if __name__ == "__main__":
    main()
