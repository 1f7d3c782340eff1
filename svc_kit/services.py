"""The six services of the platform: names, gRPC services and default ports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # short name: "campaign"
    grpc_service: str  # full name of the gRPC service it implements
    grpc_port: int
    metrics_port: int
    implemented: tuple[str, ...]  # RPCs built so far; ("*",) when all are
    status: str  # a line for people: what works so far

    def implements(self, rpc: str) -> bool:
        return "*" in self.implemented or rpc in self.implemented

    @property
    def package(self) -> str:
        return f"svc_{self.name}"

    @property
    def env_prefix(self) -> str:
        return f"MKT_{self.name.upper()}_"



SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("campaign", "marketing.campaign.v1.CampaignService", 50051, 9101, ("*",), "implemented"),
    ServiceSpec("audience", "marketing.audience.v1.AudienceService", 50052, 9102,
                ("CreateProfile", "GetProfile", "BatchGetProfiles", "ListProfiles", "UpdateProfile", "UpsertProfile",
                 "DeleteProfile", "ImportProfiles", "CheckReachability",
                 "CreateSegment", "GetSegment", "ListSegments", "UpdateSegment", "DeleteSegment", "RefreshSegment",
                 "CountSegmentMembers", "CheckSegmentMembership", "ListSegmentMembers", "StreamSegmentMembers",
                 "AddSegmentMembers", "RemoveSegmentMembers",
                 "CreateSegmentSnapshot", "GetSegmentSnapshot", "ListSegmentSnapshots", "DeleteSegmentSnapshot",
                 "CreateLookalike", "GetLookalike", "ListLookalikes", "UpdateLookalike", "DeleteLookalike",
                 "RefitLookalike",
                 "CreateSuppression", "GetSuppression", "ListSuppressions", "UpdateSuppression", "DeleteSuppression",
                 "ImportSuppressions", "ExportSuppressions", "Unsubscribe", "GetUnsubscribePage",
                 "EraseProfile", "GetErasureRequest", "ListErasureRequests", "ExportProfileData"),
                "profiles, segments (rules, events, lookalikes, static) with upkeep, snapshots, suppression and reachability "
                "implemented; attribute definitions answer UNIMPLEMENTED"),
    ServiceSpec("content", "marketing.content.v1.ContentService", 50053, 9103, ("*",),
                "templates (Liquid sandbox, MJML, versions, variants), assets and rendering implemented"),
    ServiceSpec("analytics", "marketing.analytics.v1.AnalyticsService", 50054, 9104, ("*",),
                "events (ingest from the API and the bus, listing, aggregation), campaign reports with variant "
                "comparison and CSV export, funnels implemented"),
    ServiceSpec("notify", "marketing.notify.v1.NotifyService", 50055, 9105, ("*",),
                "implemented: email (SMTP), SMS and push (HTTP providers), in-app inboxes, pacing, tracking"),
    ServiceSpec("integrations", "marketing.integrations.v1.IntegrationsService", 50056, 9106, ("*",),
                "implemented: API keys, the edge's key check (ext_authz), the audit log, Segment-compatible event "
                "collection, webhooks, connectors, connections and syncs"),
)

BY_NAME = {spec.name: spec for spec in SERVICES}
