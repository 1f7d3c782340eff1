"""The six services of the platform: names, gRPC services and default ports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # short name: "campaign"
    grpc_service: str  # full name of the gRPC service it implements
    grpc_port: int
    metrics_port: int
    implemented: bool

    @property
    def package(self) -> str:
        return f"svc_{self.name}"

    @property
    def env_prefix(self) -> str:
        return f"MKT_{self.name.upper()}_"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("campaign", "marketing.campaign.v1.CampaignService", 50051, 9101, implemented=True),
    ServiceSpec("audience", "marketing.audience.v1.AudienceService", 50052, 9102, implemented=False),
    ServiceSpec("content", "marketing.content.v1.ContentService", 50053, 9103, implemented=False),
    ServiceSpec("analytics", "marketing.analytics.v1.AnalyticsService", 50054, 9104, implemented=False),
    ServiceSpec("notify", "marketing.notify.v1.NotifyService", 50055, 9105, implemented=False),
    ServiceSpec("integrations", "marketing.integrations.v1.IntegrationsService", 50056, 9106, implemented=False),
)

BY_NAME = {spec.name: spec for spec in SERVICES}
