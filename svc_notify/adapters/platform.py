"""The other services the dispatcher asks, over gRPC: the audience service
(recipient profiles and reachability) and the content service (templates
rendered per recipient). Behind small ports so tests and benchmarks can stand in.

No retries or circuit breaking here: the mesh owns those. A failed call
raises Unavailable; the dispatcher leaves the messages deferred for its next pass."""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import json_format, struct_pb2

from marketing.audience.v1 import audience_service_pb2 as audience_pb
from marketing.audience.v1 import audience_service_pb2_grpc as audience_grpc
from marketing.common.v1 import message_content_pb2
from marketing.content.v1 import content_service_pb2 as content_pb
from marketing.content.v1 import content_service_pb2_grpc as content_grpc
from svc_kit.channels import Channel
from svc_kit.proto_enums import channel_to_proto

from svc_notify.adapters.content_proto import content_from_proto
from svc_notify.domain.model import Category, Content

CALL_TIMEOUT = 10.0
BATCH = 1000
SINGLE_CALLS_AT_ONCE = 32
RECHECK_BATCH_SECONDS = 300.0  # how long BatchGetProfiles stays given up after UNIMPLEMENTED
_PERMANENT = frozenset({grpc.StatusCode.INVALID_ARGUMENT.value[0], grpc.StatusCode.NOT_FOUND.value[0],
                        grpc.StatusCode.FAILED_PRECONDITION.value[0], grpc.StatusCode.OUT_OF_RANGE.value[0]})


class Unavailable(Exception):
    """A call to another service failed as a whole (unreachable, UNIMPLEMENTED, deadline...)."""

    def __init__(self, service: str, code: str, detail: str):
        super().__init__(f"{service} service {code}: {detail}")
        self.service = service
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Recipient:
    external_id: str
    email: str = ""
    phone: str = ""
    device_tokens: tuple[str, ...] = ()
    time_zone: str = ""


@dataclass(frozen=True)
class Reach:
    reachable: bool
    reason: str = ""  # NOT_FOUND, NO_ADDRESS, NO_CONSENT, SUPPRESSED
    suppression: str = ""


@dataclass(frozen=True)
class Rendered:
    content: Content | None = None
    variant: str = ""
    template_version: str = ""
    error: str = ""
    permanent: bool = False  # the error will not go away by itself (bad template, missing variable)


@dataclass(frozen=True)
class RenderRequest:
    profile: str  # profile resource name
    message: str  # message resource name
    data: dict | None = None


class Audience(abc.ABC):
    @abc.abstractmethod
    async def recipients(self, workspace: str, external_ids: Sequence[str]) -> dict[str, Recipient]:
        """The profiles that exist, by external id."""

    @abc.abstractmethod
    async def reachability(self, workspace: str, channel: Channel, category: Category,
                           external_ids: Sequence[str]) -> dict[str, Reach]: ...


class ContentRenderer(abc.ABC):
    @abc.abstractmethod
    async def render(self, template: str, campaign: str, variant: str,
                     requests: Sequence[RenderRequest]) -> list[Rendered]:
        """One result per request, in order."""


def _unavailable(service: str, error: grpc.aio.AioRpcError) -> Unavailable:
    return Unavailable(service, error.code().name, error.details() or "")


_CATEGORY = {Category.MARKETING: message_content_pb2.MESSAGE_CATEGORY_MARKETING,
             Category.TRANSACTIONAL: message_content_pb2.MESSAGE_CATEGORY_TRANSACTIONAL}


class GrpcAudience(Audience):
    def __init__(self, channel_factory: Callable[[], grpc.aio.Channel]):
        self.channel_factory = channel_factory
        self._stub: audience_grpc.AudienceServiceStub | None = None
        self._channel: grpc.aio.Channel | None = None
        self._batch_off_until = 0.0

    @property
    def stub(self) -> audience_grpc.AudienceServiceStub:
        if self._stub is None:
            self._channel = self.channel_factory()
            self._stub = audience_grpc.AudienceServiceStub(self._channel)
        return self._stub

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
                    raise _unavailable("audience", error) from None
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
                    raise _unavailable("audience", error) from None
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
                raise _unavailable("audience", error) from None
            for external_id, result in zip(chunk, response.results, strict=False):
                reason = audience_pb.Reachability.Reason.Name(result.reason).removeprefix("REASON_")
                out[external_id] = Reach(result.reachable, "" if result.reachable else reason, result.suppression)
        return out

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()


class GrpcContent(ContentRenderer):
    def __init__(self, channel_factory: Callable[[], grpc.aio.Channel]):
        self.channel_factory = channel_factory
        self._stub: content_grpc.ContentServiceStub | None = None
        self._channel: grpc.aio.Channel | None = None

    @property
    def stub(self) -> content_grpc.ContentServiceStub:
        if self._stub is None:
            self._channel = self.channel_factory()
            self._stub = content_grpc.ContentServiceStub(self._channel)
        return self._stub

    @staticmethod
    def _context(request: RenderRequest) -> content_pb.RenderContext:
        context = content_pb.RenderContext(profile=request.profile, message=request.message)
        if request.data is not None:
            context.data.CopyFrom(json_format.ParseDict(request.data, struct_pb2.Struct()))
        return context

    async def render(self, template: str, campaign: str, variant: str,
                     requests: Sequence[RenderRequest]) -> list[Rendered]:
        version = template if "/versions/" in template else ""
        try:
            if variant:  # the batch call has no per-recipient variant
                out = []
                for request in requests:
                    response = await self.stub.RenderTemplate(content_pb.RenderTemplateRequest(
                        name=template, context=self._context(request), campaign=campaign, variant=variant,
                        tracking=True), timeout=CALL_TIMEOUT)
                    out.append(Rendered(content_from_proto(response.content), response.variant,
                                        response.template_version or version))
                return out
            out = []
            for start in range(0, len(requests), BATCH):
                chunk = requests[start:start + BATCH]
                response = await self.stub.BatchRenderTemplate(content_pb.BatchRenderTemplateRequest(
                    name=template, contexts=[self._context(r) for r in chunk], campaign=campaign, tracking=True),
                    timeout=CALL_TIMEOUT)
                for result in response.results:
                    if result.HasField("error") and result.error.code != 0:
                        out.append(Rendered(error=f"{_code_name(result.error.code)}: {result.error.message}",
                                            permanent=result.error.code in _PERMANENT))
                    else:
                        out.append(Rendered(content_from_proto(result.content), result.variant, version))
            return out
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                                grpc.StatusCode.FAILED_PRECONDITION):
                return [Rendered(error=f"{error.code().name}: {error.details()}", permanent=True) for _ in requests]
            raise _unavailable("content", error) from None

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()


def _code_name(value: int) -> str:
    for code in grpc.StatusCode:
        if code.value[0] == value:
            return code.name
    return f"code {value}"
