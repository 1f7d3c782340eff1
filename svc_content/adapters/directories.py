"""The audience service over gRPC (`svc_kit.clients` finds it: MKT_AUDIENCE_TARGET,
by default its port on this machine): profiles and segment membership of
recipients a render names without giving them inline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC

import grpc

from marketing.audience.v1 import audience_service_pb2 as audience_pb
from marketing.audience.v1 import audience_service_pb2_grpc as audience_grpc
from marketing.audience.v1 import profile_pb2
from marketing.common.v1 import attribute_pb2
from svc_kit.errors import Unavailable

from svc_content.templating.renderer import profile_namespace

TIMEOUT = 10.0
CONCURRENCY = 32


def attribute_value(attribute: attribute_pb2.Attribute):
    kind = attribute.WhichOneof("value")
    if kind is None:
        return None
    if kind == "timestamp_value":
        return attribute.timestamp_value.ToDatetime(tzinfo=UTC)
    if kind == "string_list_value":
        return list(attribute.string_list_value.values)
    return getattr(attribute, kind)


def profile_from_proto(profile: profile_pb2.Profile, external_id: str = "") -> dict:
    """A Profile message as the `profile` namespace of a template."""
    external_id = external_id or profile.name.rsplit("/", 1)[-1]
    return profile_namespace(external_id, profile.name, profile.email, profile.phone, profile.locale,
                             profile.time_zone, {a.key: attribute_value(a) for a in profile.attributes})


def _unavailable(service: str, error: grpc.aio.AioRpcError) -> Unavailable:
    return Unavailable(f"the {service} service did not answer ({error.code().name}: {error.details()})")


class _Lazy:
    """aio channels belong to the event loop that serves: the stub is made on first use."""

    def __init__(self, channel: Callable[[], grpc.aio.Channel], stub_class):
        self._channel = channel
        self._stub_class = stub_class
        self._stub = None

    @property
    def stub(self):
        if self._stub is None:
            self._stub = self._stub_class(self._channel())
        return self._stub


class GrpcAudience(_Lazy):
    def __init__(self, channel: Callable[[], grpc.aio.Channel]):
        super().__init__(channel, audience_grpc.AudienceServiceStub)
        self._batch_get = True  # BatchGetProfiles until the service says it lacks it

    async def profiles(self, workspace: str, profile_ids: list[str]) -> dict[str, dict | None]:
        names = [f"workspaces/{workspace}/profiles/{p}" for p in profile_ids]
        found: dict[str, dict | None] = {p: None for p in profile_ids}
        if self._batch_get:
            try:
                for start in range(0, len(names), 1000):
                    response = await self.stub.BatchGetProfiles(audience_pb.BatchGetProfilesRequest(
                        parent=f"workspaces/{workspace}", names=names[start:start + 1000], allow_missing=True),
                        timeout=TIMEOUT)
                    for profile in response.profiles:
                        external_id = profile.name.rsplit("/", 1)[-1]
                        found[external_id] = profile_from_proto(profile, external_id)
                return found
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise _unavailable("audience", error) from None
                self._batch_get = False
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(profile_id: str, name: str) -> None:
            async with limit:
                try:
                    profile = await self.stub.GetProfile(audience_pb.GetProfileRequest(name=name), timeout=TIMEOUT)
                except grpc.aio.AioRpcError as error:
                    if error.code() == grpc.StatusCode.NOT_FOUND:
                        return
                    raise _unavailable("audience", error) from None
                found[profile_id] = profile_from_proto(profile, profile_id)

        await asyncio.gather(*(one(p, n) for p, n in zip(profile_ids, names)))
        return found

    async def memberships(self, workspace: str, segment_ids: list[str], profile_ids: list[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {p: set() for p in profile_ids}
        for segment_id in segment_ids:
            for start in range(0, len(profile_ids), 1000):
                chunk = profile_ids[start:start + 1000]
                try:
                    response = await self.stub.CheckSegmentMembership(audience_pb.CheckSegmentMembershipRequest(
                        segment=f"workspaces/{workspace}/segments/{segment_id}",
                        profiles=[f"workspaces/{workspace}/profiles/{p}" for p in chunk]), timeout=TIMEOUT)
                except grpc.aio.AioRpcError as error:
                    if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                        break  # no such segment (any more): nobody is in it
                    raise _unavailable("audience", error) from None
                for membership in response.memberships:
                    if membership.member:
                        out.setdefault(membership.profile.rsplit("/", 1)[-1], set()).add(segment_id)
        return out


class NoAudience:
    """For tools and tests that give every profile inline."""

    async def profiles(self, workspace, profile_ids):
        raise Unavailable("no audience service configured: give profiles inline (profile_data)")

    async def memberships(self, workspace, segment_ids, profile_ids):
        return {}


class NoCampaigns:
    async def campaign(self, workspace, campaign_id):
        return {"id": campaign_id, "name": ""}

    async def referencing(self, workspace, template_name):
        return []
