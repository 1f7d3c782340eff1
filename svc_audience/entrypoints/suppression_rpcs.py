"""Suppression list RPCs: CRUD, bulk import and export, and unsubscribe links."""

from __future__ import annotations


import asyncio
import html
import re
from datetime import UTC

from google.api import httpbody_pb2
from google.protobuf import empty_pb2

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import suppression_pb2
from svc_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument
from svc_kit.names import name_field, parent_field
from svc_kit.proto_enums import channel_from_proto, channel_proto_names, channel_to_proto
from svc_kit.signing import SignatureError, verify

from svc_audience.domain.suppression import Entry, Reason, Suppression
from svc_audience.entrypoints.common import Rpcs, profile_name, take
from svc_audience.service_layer import suppressions as handlers

IMPORT_BATCH = 1000
MAX_REPORTED_REJECTIONS = 10_000
_REASONS = {suppression_pb2.Suppression.Reason.Value(f"REASON_{r.value}"): r for r in Reason}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def suppression_to_proto(s: Suppression) -> suppression_pb2.Suppression:
    message = suppression_pb2.Suppression(
        name=s.name, channel=channel_to_proto(s.channel) if s.channel else 0,
        reason=suppression_pb2.Suppression.Reason.Value(f"REASON_{s.reason.value}"), note=s.note, source=s.source,
        etag=s.etag)
    if s.subject_kind == "profile":
        message.profile = f"workspaces/{s.workspace}/profiles/{s.subject}"
    else:
        setattr(message, s.subject_kind, s.subject)
    if s.campaign:
        message.campaign = f"workspaces/{s.workspace}/campaigns/{s.campaign}"
    if s.expire_time:
        message.expire_time.FromDatetime(s.expire_time)
    if s.create_time:
        message.create_time.FromDatetime(s.create_time)
    if s.update_time or s.create_time:
        message.update_time.FromDatetime(s.update_time or s.create_time)
    return message


def entry_from_proto(s: suppression_pb2.Suppression, workspace: str, prefix: str = "suppression.") -> Entry:
    """The entry a message asks for; InvalidArgument for what only the message can tell
    (a profile or campaign of another workspace, an unknown channel). The rest is
    checked by the domain (`validated`)."""
    kind = s.WhichOneof("subject") or ""
    subject = getattr(s, kind) if kind else ""
    if kind == "profile":
        profile_workspace, subject = profile_name(s.profile, prefix + "profile")
        if profile_workspace != workspace:
            raise InvalidArgument(FieldViolation(prefix + "profile", f"must belong to workspace {workspace!r}"))
    channel = None
    if s.channel:
        channel = channel_from_proto(s.channel)
        if channel is None:
            raise InvalidArgument(FieldViolation(prefix + "channel", f"one of {channel_proto_names()}, or "
                                                                     "CHANNEL_UNSPECIFIED for every channel"))
    campaign = ""
    if s.campaign:
        campaign_workspace, campaign = name_field(s.campaign, "campaigns", prefix + "campaign")
        if campaign_workspace != workspace:
            raise InvalidArgument(FieldViolation(prefix + "campaign", f"must belong to workspace {workspace!r}"))
    expire = s.expire_time.ToDatetime(tzinfo=UTC) if s.HasField("expire_time") else None
    return Entry(kind, subject, channel, _REASONS.get(s.reason), s.note, s.source, campaign, expire)


def _mask_paths(paths) -> frozenset[str]:
    """update_mask paths, snake_case (`expireTime` from a JSON client becomes `expire_time`)."""
    return frozenset(_CAMEL.sub("_", p).lower().removeprefix("suppression.") for p in paths)


UNSUBSCRIBE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Unsubscribe</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
<h1>Unsubscribe</h1>
<p>Stop receiving {what} from us?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form>
</body></html>
"""


# The edge answers with this status instead of 200 (edge/envoy_config.py): the page of a bad link is a 400.
HTTP_STATUS_HEADER = "x-http-status"
BAD_LINK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Unsubscribe link not valid</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
<h1>{title}</h1>
<p>{why}</p>
<p>Nothing was changed. To unsubscribe, use the link in a more recent message from us.</p>
</body></html>
"""


def bad_link_page(reason: str) -> str:
    if reason.startswith("expired"):
        title, why = "This unsubscribe link has expired", "Unsubscribe links work for a limited time."
    else:
        title, why = "This unsubscribe link is not valid", "It may have been altered or cut short."
    return BAD_LINK_PAGE.format(title=title, why=why)


def unsubscribe_page(channel) -> str:
    """The confirmation page: its button POSTs to the same address (token included)."""
    what = {None: "messages"}.get(channel) or f"{html.escape(channel.value.lower().replace('_', '-'))} messages"
    return UNSUBSCRIBE_PAGE.format(what=what)


class SuppressionRpcs(Rpcs):
    async def CreateSuppression(self, request: pb.CreateSuppressionRequest, context):
        workspace = parent_field(request.parent)
        entry = entry_from_proto(request.suppression, workspace)
        created = await self._run(handlers.create_suppression, workspace, entry, self.suppressions, self.clock,
                                  self.new_id)
        return suppression_to_proto(created)

    async def GetSuppression(self, request: pb.GetSuppressionRequest, context):
        workspace, suppression_id = name_field(request.name, "suppressions")
        return suppression_to_proto(await self._run(handlers.get_suppression, workspace, suppression_id,
                                                    self.suppressions))

    async def ListSuppressions(self, request: pb.ListSuppressionsRequest, context):
        page, token = await self._run(handlers.list_suppressions, parent_field(request.parent), request.filter,
                                      request.page_size, request.page_token, self.suppressions)
        return pb.ListSuppressionsResponse(suppressions=[suppression_to_proto(s) for s in page],
                                           next_page_token=token)

    async def UpdateSuppression(self, request: pb.UpdateSuppressionRequest, context):
        s = request.suppression
        workspace, suppression_id = name_field(s.name, "suppressions", "suppression.name")
        expire = s.expire_time.ToDatetime(tzinfo=UTC) if s.HasField("expire_time") else None
        updated = await self._run(handlers.update_suppression, workspace, suppression_id, _REASONS.get(s.reason),
                                  s.note, expire, _mask_paths(request.update_mask.paths), s.etag, self.suppressions,
                                  self.clock)
        return suppression_to_proto(updated)

    async def DeleteSuppression(self, request: pb.DeleteSuppressionRequest, context):
        workspace, suppression_id = name_field(request.name, "suppressions")
        await self._run(handlers.delete_suppression, workspace, suppression_id, request.etag, self.suppressions)
        return empty_pb2.Empty()

    async def ImportSuppressions(self, request_iterator, context):
        summary = handlers.ImportSummary()
        workspace, validate_only = None, False
        batch: list[handlers.ImportRecord] = []

        async def flush() -> None:
            if batch:
                await self._run(handlers.import_batch, workspace, list(batch), validate_only, self.suppressions,
                                self.clock, self.new_id, summary)
                batch.clear()

        async for request in request_iterator:
            if workspace is None:
                workspace = parent_field(request.parent)
                validate_only = request.validate_only
            elif request.parent and request.parent != f"workspaces/{workspace}":
                raise InvalidArgument(FieldViolation("parent", "every message must name the first one's workspace"))
            # at most IMPORT_BATCH records per message: a rule of audience_service.proto (svc_kit.validation)
            for record in request.records:
                summary.received += 1
                line = record.line or summary.received
                try:
                    entry = entry_from_proto(record.suppression, workspace, "")
                except InvalidArgument as error:
                    s = record.suppression
                    kind = s.WhichOneof("subject")
                    first = error.violations[0]
                    summary.reject(line, getattr(s, kind) if kind else "", first.field, first.description)
                    continue
                batch.append(handlers.ImportRecord(line, entry))
            if len(batch) >= IMPORT_BATCH:
                await flush()
        if workspace is None:
            raise InvalidArgument(FieldViolation("parent", "required in the first message"))
        await flush()
        rejections = sorted(summary.rejections)[:MAX_REPORTED_REJECTIONS]
        return pb.ImportSuppressionsResponse(
            received=summary.received, inserted=summary.inserted, updated=summary.updated,
            rejected=summary.rejected,
            rejections=[pb.RejectedRecord(line=line, id=subject, field=field, reason=reason)
                        for line, subject, field, reason in rejections])

    async def ExportSuppressions(self, request: pb.ExportSuppressionsRequest, context):
        """Batches read from one database cursor, oldest entry first."""
        workspace = parent_field(request.parent)
        entries = await self._run(handlers.export_suppressions, workspace, request.filter, request.batch_size,
                                  self.suppressions)
        batch_size = request.batch_size or 1000
        loop = asyncio.get_running_loop()
        while batch := await loop.run_in_executor(self.executor, take, entries, batch_size):
            yield pb.ExportSuppressionsResponse(suppressions=[suppression_to_proto(s) for s in batch])

    def _link_claims(self, token: str):
        key = self.deps.link_signing_key
        if key is None:
            raise FailedPrecondition("unsubscribe links are off: MKT_LINK_SIGNING_KEY is not set on the audience "
                                     "service")
        if not token:
            raise InvalidArgument(FieldViolation("token", "required: the `token` query parameter of the link"))
        try:
            return verify(key, token, now=self.clock())
        except SignatureError as error:
            raise InvalidArgument(FieldViolation("token", str(error))) from None

    async def Unsubscribe(self, request: pb.UnsubscribeRequest, context):
        """An unsubscribe link (RFC 8058 one-click POST, or the button of its page): the body is ignored."""
        workspace = parent_field(request.parent)
        claims = self._link_claims(request.token)
        entry = await self._run(handlers.unsubscribe, workspace, claims, self.suppressions, self.clock,
                                self.new_id, self.deps.record_unsubscribe)
        return suppression_to_proto(entry)

    async def GetUnsubscribePage(self, request: pb.GetUnsubscribePageRequest, context):
        """The page of the link; for a bad or expired token a 400 page saying so (nothing changes either way)."""
        workspace = parent_field(request.parent)
        try:
            claims = self._link_claims(request.token)
            if claims.workspace != workspace:
                raise InvalidArgument(FieldViolation("token", f"was issued for another workspace than {workspace!r}"))
        except InvalidArgument as error:
            await context.send_initial_metadata(((HTTP_STATUS_HEADER, "400"),))
            return httpbody_pb2.HttpBody(content_type="text/html; charset=utf-8",
                                         data=bad_link_page(error.violations[0].description).encode())
        return httpbody_pb2.HttpBody(content_type="text/html; charset=utf-8",
                                     data=unsubscribe_page(claims.channel).encode())
