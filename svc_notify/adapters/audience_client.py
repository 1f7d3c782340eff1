"""The audience service over gRPC, behind the Audience port: recipient
profiles (one batch call, or one call each where the batch call is
UNIMPLEMENTED) and their reachability on a channel for a category."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import grpc

from marketing.audience.v1 import audience_service_pb2 as audience_pb
from marketing.audience.v1 import audience_service_pb2_grpc as audience_grpc
from marketing.common.v1 import message_content_pb2
from svc_kit.channels import Channel
from svc_kit.proto_enums import channel_to_proto
from svc_kit.clients import Peer

from svc_notify.adapters.grpc_peer import BATCH, CALL_TIMEOUT, unavailable
from svc_notify.domain.model import Category
from svc_notify.service_layer.ports import Reach, Recipient

SINGLE_CALLS_AT_ONCE = 32
RECHECK_BATCH_SECONDS = 300.0  # how long BatchGetProfiles stays given up after UNIMPLEMENTED
_CATEGORY = {Category.MARKETING: message_content_pb2.MESSAGE_CATEGORY_MARKETING,
             Category.TRANSACTIONAL: message_content_pb2.MESSAGE_CATEGORY_TRANSACTIONAL}


class GrpcAudience(Peer):
    def __init__(self, channel_factory: Callable[[], grpc.aio.Channel]):
        super().__init__(channel_factory, audience_grpc.AudienceServiceStub)
        self._batch_off_until = 0.0

    @staticmethod
    def _recipient(profile) -> Recipient:
        return Recipient(profile.name.rsplit("/", 1)[-1], profile.email, profile.phone,
                         tuple(t.token for t in profile.device_tokens), profile.time_zone)

    async def recipients(self, workspace: str, external_ids: Sequence[str]) -> dict[str, Recipient]:
        ids = list(dict.fromkeys(external_ids))
        found: dict[str, Recipient] = {}
        if time.monotonic() >= self._batch_off_until:
            try:
                for start in range(0, len(ids), BATCH):
                    response = await self.stub.BatchGetProfiles(audience_pb.BatchGetProfilesRequest(
                        parent=f"workspaces/{workspace}", allow_missing=True,
                        names=[f"workspaces/{workspace}/profiles/{i}" for i in ids[start:start + BATCH]]),
                        timeout=CALL_TIMEOUT)
                    for profile in response.profiles:
                        recipient = self._recipient(profile)
                        found[recipient.external_id] = recipient
                return found
            except grpc.aio.AioRpcError as error:
                if error.code() is not grpc.StatusCode.UNIMPLEMENTED:
                    raise unavailable("audience", error) from None
                self._batch_off_until = time.monotonic() + RECHECK_BATCH_SECONDS
        gate = asyncio.Semaphore(SINGLE_CALLS_AT_ONCE)

        async def one(external_id: str) -> None:
            async with gate:
                try:
                    profile = await self.stub.GetProfile(audience_pb.GetProfileRequest(
                        name=f"workspaces/{workspace}/profiles/{external_id}"), timeout=CALL_TIMEOUT)
                except grpc.aio.AioRpcError as error:
                    if error.code() is grpc.StatusCode.NOT_FOUND:
                        return
                    raise unavailable("audience", error) from None
                found[external_id] = self._recipient(profile)

        await asyncio.gather(*(one(i) for i in ids))
        return found

    async def reachability(self, workspace: str, channel: Channel, category: Category,
                           external_ids: Sequence[str]) -> dict[str, Reach]:
        ids = list(dict.fromkeys(external_ids))
        out: dict[str, Reach] = {}
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            try:
                response = await self.stub.CheckReachability(audience_pb.CheckReachabilityRequest(
                    parent=f"workspaces/{workspace}", channel=channel_to_proto(channel), category=_CATEGORY[category],
                    profiles=[f"workspaces/{workspace}/profiles/{i}" for i in chunk]), timeout=CALL_TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise unavailable("audience", error) from None
            for external_id, result in zip(chunk, response.results, strict=False):
                reason = audience_pb.Reachability.Reason.Name(result.reason).removeprefix("REASON_")
                out[external_id] = Reach(result.reachable, "" if result.reachable else reason, result.suppression)
        return out
