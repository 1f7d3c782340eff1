"""The audience section of an access request (the profile with its consents, its segment and
snapshot memberships, the suppression entries naming it), and the clients that ask the other
services for theirs (their internal ExportProfileData RPC)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import json_format
from pymongo.database import Database

from marketing.analytics.v1 import analytics_service_pb2, analytics_service_pb2_grpc
from marketing.campaign.v1 import campaign_service_pb2, campaign_service_pb2_grpc
from marketing.content.v1 import content_service_pb2, content_service_pb2_grpc
from marketing.notify.v1 import notify_service_pb2, notify_service_pb2_grpc
from svc_kit import privacy_rpc
from svc_kit.errors import Unavailable

from svc_audience.adapters.membership_store import MEMBERSHIPS
from svc_audience.adapters.snapshot_store import SNAPSHOT_MEMBERS
from svc_audience.adapters.suppression_store import SuppressionStore, suppressions_about
from svc_audience.service_layer.ports import ProfileRepository

CALL_TIMEOUT = 30.0
_PEERS = {
    "notify": (notify_service_pb2_grpc.NotifyServiceStub, notify_service_pb2.ExportProfileDataRequest),
    "content": (content_service_pb2_grpc.ContentServiceStub, content_service_pb2.ExportProfileDataRequest),
    "campaign": (campaign_service_pb2_grpc.CampaignServiceStub, campaign_service_pb2.ExportProfileDataRequest),
    "analytics": (analytics_service_pb2_grpc.AnalyticsServiceStub, analytics_service_pb2.ExportProfileDataRequest),
}


def audience_section(database: Database, repository: ProfileRepository, suppressions: SuppressionStore,
                     to_json: Callable[[Any], dict], suppression_json: Callable[[Any], dict],
                     workspace: str, profile: str) -> dict[str, Any]:
    found = repository.get(workspace, profile)
    segments = sorted(d["segment_id"] for d in database[MEMBERSHIPS].find(
        {"workspace": workspace, "profile": profile}, {"_id": 0, "segment_id": 1}))
    snapshots = sorted(f"workspaces/{workspace}/segments/{d['segment_id']}/snapshots/{d['snapshot_id']}"
                       for d in database[SNAPSHOT_MEMBERS].find({"workspace": workspace, "external_id": profile},
                                                                {"_id": 0, "segment_id": 1, "snapshot_id": 1}))
    entries = suppressions_about(suppressions, workspace, profile, found.email if found else "",
                                 found.phone if found else "")
    shown = to_json(found) if found is not None else None
    return {"profiles": [shown] if shown is not None else [],
            "consents": list(shown.get("consents", [])) if shown is not None else [],
            "segmentMemberships": [f"workspaces/{workspace}/segments/{s}" for s in segments],
            "snapshotMemberships": snapshots,
            "suppressions": [suppression_json(s) for s in entries]}


class PeerSections:
    """The other services' sections, through their ExportProfileData (the mesh lets only the
    audience service call it)."""

    def __init__(self, channel_factory: Callable[[str], grpc.aio.Channel]):
        self.channel_factory = channel_factory
        self._stubs: dict[str, Any] = {}

    def section(self, service: str):
        stub_class, request_class = _PEERS[service]

        async def fetch(workspace: str, profile: str) -> dict[str, Any]:
            if service not in self._stubs:
                self._stubs[service] = stub_class(self.channel_factory(service))
            try:
                answer = await self._stubs[service].ExportProfileData(
                    request_class(name=f"workspaces/{workspace}/profiles/{profile}"), timeout=CALL_TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise Unavailable(f"the {service} service could not export its data: "
                                  f"{error.code().name} {error.details() or ''}".strip()) from None
            return privacy_rpc.profile_data_dict(answer)

        return fetch


def json_of(message) -> dict[str, Any]:
    return json_format.MessageToDict(message)
