"""Render use cases: a preview for one recipient and batches of up to 1,000.

The draft or version is compiled once and kept in an LRU cache keyed by
version (or draft revision); per call it resolves what it must ask elsewhere
(profiles given by name and the segments the template tests, from the audience
service; the campaign's name, from the campaign service), then renders every
recipient (`templating.renderer.render_batch`) on a worker thread."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from dataclasses import dataclass, field
from datetime import UTC, datetime

from svc_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from svc_kit.executor import run_blocking
from svc_kit.signing import Keyring

from svc_content.service_layer import handlers
from svc_content.service_layer.ports import AudienceDirectory, CampaignDirectory
from svc_content.service_layer.unit_of_work import UnitOfWork
from svc_content.templating.links import LinkFactory
from svc_content.templating.renderer import (BatchContext, CompiledTemplate, Recipient, RecipientResult,
                                             profile_namespace, render_batch)

MAX_BATCH = 1000
CACHE_SIZE = 256


@dataclass(frozen=True)
class RenderRequest:
    """One recipient as asked: a profile by id (read from the audience
    service) or inline (`profile`, its namespace), with extra data."""

    profile_id: str = ""
    profile: dict | None = None
    segments: tuple[str, ...] = ()
    data: dict = field(default_factory=dict)
    message_id: str = ""
    problem: tuple[str, str, str] | None = None  # (code, field, message) found while reading the request


@dataclass(frozen=True)
class RenderCall:
    workspace: str
    template_id: str
    version: int | None  # None: the draft
    requests: Sequence[RenderRequest]
    campaign_id: str = ""
    tracking: bool = False
    variant: str = ""


@dataclass
class Rendering:
    source: handlers.RenderSource
    results: list[RecipientResult]


class CompiledCache:
    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._items: OrderedDict[tuple, CompiledTemplate] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, source: handlers.RenderSource) -> CompiledTemplate:
        with self._lock:
            found = self._items.get(source.key)
            if found is not None:
                self._items.move_to_end(source.key)
                return found
        compiled = CompiledTemplate(source.channel, source.content, source.variants, source.defaults,
                                    source.variables)
        with self._lock:
            self._items[source.key] = compiled
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return compiled


Run = Callable[..., Awaitable]


def _needs_profiles(source: handlers.RenderSource) -> bool:
    return (any(v.startswith("profile.") for v in source.variables)
            or any(k.startswith("profile.") for k in source.defaults))


class RenderService:
    def __init__(self, uow: Callable[[], UnitOfWork], audience: AudienceDirectory, campaigns: CampaignDirectory,
                 link_key: bytes | Keyring | None, base_url: str, run: Run, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 cache: CompiledCache | None = None):
        self.uow = uow
        self.audience = audience
        self.campaigns = campaigns
        self.link_key = link_key
        self.base_url = base_url
        self.run = run
        self.clock = clock
        self.cache = cache or CompiledCache()

    async def render(self, call: RenderCall) -> Rendering:
        # at most MAX_BATCH contexts per call: a rule of content_service.proto (svc_kit.validation)
        if call.tracking and self.link_key is None:
            raise FailedPrecondition("tracking links need MKT_LINK_SIGNING_KEY on the content service; "
                                     "it is not set")
        source = await self.run(handlers.render_source, call.workspace, call.template_id, call.version, self.uow())
        compiled = self.cache.get(source)
        if call.variant and call.variant not in compiled.variant_ids():
            known = ", ".join(compiled.variant_ids()) or "none"
            raise InvalidArgument(FieldViolation("variant", f"{call.variant!r} is not a variant of "
                                                            f"{source.template_name} (variants: {known})"))
        campaign, warnings = await self._campaign(call, source)
        recipients, problems = await self._recipients(call, source)
        now = self.clock()
        links = (LinkFactory(self.link_key, self.base_url, call.workspace, call.campaign_id, source.channel, now)
                 if self.link_key is not None else None)
        seed = (f"workspaces/{call.workspace}/campaigns/{call.campaign_id}" if call.campaign_id
                else source.template_name)
        batch = BatchContext(call.workspace, seed, campaign, call.tracking, links, call.variant, warnings)
        rendered = await self.run(render_batch, compiled, [r for r in recipients if r is not None], batch)
        results, it = [], iter(rendered)
        for recipient, problem in zip(recipients, problems):
            if recipient is not None:
                results.append(next(it))
            else:
                code, field_name, message = problem
                results.append(RecipientResult(Recipient("", {}), error=f"{field_name}: {message}", code=code))
        return Rendering(source, results)

    async def _campaign(self, call: RenderCall, source: handlers.RenderSource) -> tuple[dict, tuple[str, ...]]:
        """The `campaign` namespace, from the local copy of campaigns (kept from
        the campaign service's events): a campaign it has not heard of yet
        renders with an empty name (or the template's default) and a warning."""
        if not call.campaign_id:
            return {}, ()
        if "campaign.name" not in source.variables:
            return {"id": call.campaign_id, "name": ""}, ()
        found = await self.campaigns.campaign(call.workspace, call.campaign_id)
        if found is None:
            name = f"workspaces/{call.workspace}/campaigns/{call.campaign_id}"
            return {"id": call.campaign_id}, (f"campaign.name: {name} is not known to the content service "
                                              "(yet): its name is empty",)
        return found, ()

    async def _recipients(self, call: RenderCall, source: handlers.RenderSource):
        by_name = [r.profile_id for r in call.requests if r.profile is None and r.profile_id and r.problem is None]
        profiles: dict[str, dict | None] = {}
        if by_name and _needs_profiles(source):
            profiles = await self.audience.profiles(call.workspace, sorted(set(by_name)))
        memberships: dict[str, set[str]] = {}
        if by_name and source.segments:
            memberships = await self.audience.memberships(call.workspace, list(source.segments),
                                                          sorted(set(by_name)))
        recipients: list[Recipient | None] = []
        problems: list[tuple[str, str, str] | None] = []
        for i, request in enumerate(call.requests):
            if request.problem is not None:
                recipients.append(None)
                problems.append(request.problem)
                continue
            segments = tuple(dict.fromkeys(s.rsplit("/", 1)[-1] for s in request.segments))
            if request.profile is not None:
                profile = request.profile
            elif request.profile_id and request.profile_id in profiles:
                profile = profiles[request.profile_id]
                if profile is None:
                    recipients.append(None)
                    problems.append(("NOT_FOUND", f"contexts[{i}].profile",
                                     f"workspaces/{call.workspace}/profiles/{request.profile_id} not found"))
                    continue
            else:
                profile = _bare_profile(call.workspace, request.profile_id)
            if request.profile is None and request.profile_id in memberships:
                segments = tuple(dict.fromkeys(segments + tuple(sorted(memberships[request.profile_id]))))
            recipients.append(Recipient(request.profile_id, profile, list(segments), request.data,
                                        request.message_id))
            problems.append(None)
        return recipients, problems


def _bare_profile(workspace: str, profile_id: str) -> dict:
    return profile_namespace(profile_id, f"workspaces/{workspace}/profiles/{profile_id}" if profile_id else "")


def raise_for(result: RecipientResult) -> None:
    """A single render's failure as the call's error."""
    if not result.error:
        return
    field_name, _, message = result.error.partition(": ")
    if result.code == "NOT_FOUND":
        raise NotFound(message.removesuffix(" not found"), message)
    raise InvalidArgument(FieldViolation(field_name, message))


async def run_inline(fn, *args):
    return fn(*args)


def run_in(executor) -> Run:
    return partial(run_blocking, executor)
