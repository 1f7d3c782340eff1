"""Protobuf messages to and from the content service's model."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

from google.protobuf import json_format

from marketing.common.v1 import message_content_pb2 as rendered_pb
from marketing.content.v1 import asset_pb2, content_service_pb2 as pb, template_pb2
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.names import WORKSPACE_ID, name_field
from svc_kit.proto_enums import channel_from_proto, channel_to_proto  # noqa: F401 - the servicer reads channels here

from svc_content.adapters.directories import profile_from_proto
from svc_content.domain.model import (Asset, Content, EmailContent, InAppAction, InAppContent, PushContent,
                                      SmsContent, Template, TemplateDraft, TemplateVersion, Variant)
from svc_content.service_layer.rendering import RenderRequest
from svc_content.templating.renderer import RenderedEmail, RenderedInApp, RenderedPush, RenderedSms

PROFILE_ID = re.compile(r"[A-Za-z0-9._~@+-]{1,128}")
MAX_DATA_BYTES = 64 * 1024


def invalid(field: str, message: str) -> InvalidArgument:
    return InvalidArgument(FieldViolation(field, message))


def template_or_version(value: str, field: str = "name") -> tuple[str, str, int | None]:
    """`workspaces/W/templates/T` -> (W, T, None); `.../versions/N` -> (W, T, N)."""
    parts = value.split("/")
    if len(parts) == 6 and parts[4] == "versions":
        workspace, template_id = name_field("/".join(parts[:4]), "templates", field)
        if not parts[5].isdigit() or int(parts[5]) < 1 or len(parts[5]) > 9:
            raise invalid(field, f"{value!r}: versions count from 1")
        return workspace, template_id, int(parts[5])
    workspace, template_id = name_field(value, "templates", field)
    return workspace, template_id, None


def version_name(value: str, field: str = "name") -> tuple[str, str, int]:
    workspace, template_id, number = template_or_version(value, field)
    if number is None:
        raise invalid(field, f"{value!r} is not a version name `workspaces/{{workspace}}/templates/{{template}}/"
                             "versions/{version}`")
    return workspace, template_id, number


# -- content -------------------------------------------------------------------------------------------


def content_from_proto(message: template_pb2.TemplateContent) -> Content | None:
    kind = message.WhichOneof("content")
    if kind == "email":
        e = message.email
        return EmailContent(e.subject, e.preheader, e.html, e.text, e.mjml, e.from_name, e.from_address, e.reply_to)
    if kind == "sms":
        return SmsContent(message.sms.body)
    if kind == "push":
        p = message.push
        return PushContent(p.title, p.body, dict(p.data), p.image_url, p.deep_link)
    if kind == "in_app":
        a = message.in_app
        ttl = a.time_to_live.ToTimedelta().total_seconds() if a.HasField("time_to_live") else None
        return InAppContent(a.title, a.body, a.image_url, tuple(InAppAction(x.label, x.url) for x in a.actions),
                            dict(a.data), ttl)
    return None


def content_to_proto(content: Content | None) -> template_pb2.TemplateContent:
    out = template_pb2.TemplateContent()
    if isinstance(content, EmailContent):
        out.email.CopyFrom(template_pb2.EmailTemplate(
            subject=content.subject, preheader=content.preheader, html=content.html, text=content.text,
            mjml=content.mjml, from_name=content.from_name, from_address=content.from_address,
            reply_to=content.reply_to, compiled_html=content.compiled_html, compiled_text=content.compiled_text))
    elif isinstance(content, SmsContent):
        out.sms.body = content.body
    elif isinstance(content, PushContent):
        out.push.CopyFrom(template_pb2.PushTemplate(title=content.title, body=content.body, data=content.data,
                                                    image_url=content.image_url, deep_link=content.deep_link))
    elif isinstance(content, InAppContent):
        out.in_app.CopyFrom(template_pb2.InAppTemplate(
            title=content.title, body=content.body, image_url=content.image_url, data=content.data,
            actions=[rendered_pb.InAppAction(label=a.label, url=a.url) for a in content.actions]))
        if content.time_to_live_seconds is not None:
            out.in_app.time_to_live.FromTimedelta(timedelta(seconds=content.time_to_live_seconds))
    return out


def draft_from_proto(message: template_pb2.Template) -> TemplateDraft:
    content = content_from_proto(message.content) if message.HasField("content") else None
    variants = tuple(Variant(v.id, v.display_name, v.weight,
                             content_from_proto(v.content) if v.HasField("content") else None)
                     for v in message.variants)
    return TemplateDraft(message.display_name, message.description, content, variants, dict(message.labels),
                         dict(message.defaults))


def _variants_to_proto(variants) -> list[template_pb2.Variant]:
    return [template_pb2.Variant(id=v.id, display_name=v.display_name, weight=v.weight,
                                 content=content_to_proto(v.content)) for v in variants]


def template_to_proto(template: Template) -> template_pb2.Template:
    draft = template.draft
    out = template_pb2.Template(
        name=template.name, display_name=draft.display_name, description=draft.description,
        channel=channel_to_proto(template.channel), variants=_variants_to_proto(draft.variants),
        latest_version=template.version_name(template.latest_version) if template.latest_version else "",
        unpublished_changes=template.unpublished_changes, variables=list(template.analysis.variables),
        segments=[f"workspaces/{template.workspace}/segments/{s}" for s in template.analysis.segments],
        labels=draft.labels, etag=template.etag, defaults=draft.defaults)
    if draft.content is not None:
        out.content.CopyFrom(content_to_proto(draft.content))
    out.create_time.FromDatetime(template.create_time)
    out.update_time.FromDatetime(template.update_time)
    return out


def version_to_proto(version: TemplateVersion) -> template_pb2.TemplateVersion:
    out = template_pb2.TemplateVersion(
        name=version.name, channel=channel_to_proto(version.channel), variants=_variants_to_proto(version.variants),
        change_note=version.change_note, variables=list(version.analysis.variables),
        segments=[f"workspaces/{version.workspace}/segments/{s}" for s in version.analysis.segments],
        defaults=version.defaults)
    if version.content is not None:
        out.content.CopyFrom(content_to_proto(version.content))
    out.create_time.FromDatetime(version.create_time)
    return out


# -- assets --------------------------------------------------------------------------------------------


def asset_to_proto(asset: Asset, base_url: str) -> asset_pb2.Asset:
    download = f"{base_url}/v1/{asset.name}:download"
    out = asset_pb2.Asset(
        name=asset.name, display_name=asset.display_name, content_type=asset.content_type,
        size_bytes=asset.size_bytes, sha256=asset.sha256, uri=download, width=asset.width, height=asset.height,
        renditions=[asset_pb2.AssetRendition(
            width=r.width, height=r.height, content_type=r.content_type, size_bytes=r.size_bytes,
            uri=f"{download}?width={r.width}&contentType={quote(r.content_type, safe='')}")
            for r in asset.renditions],
        labels=asset.labels, etag=asset.etag)
    out.create_time.FromDatetime(asset.create_time)
    out.update_time.FromDatetime(asset.update_time)
    return out


# -- rendering -------------------------------------------------------------------------------------------


def _numbers(value):
    """Struct numbers arrive as floats; whole ones render as integers (`3`, not `3.0`)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def render_request(workspace: str, context: pb.RenderContext, field: str) -> RenderRequest:
    """A RenderContext as a request; a problem with it is kept for that recipient alone."""
    profile_id, inline = "", None
    try:
        if context.profile:
            ws, _, profile_id = _split_profile(context.profile, f"{field}.profile")
            if ws != workspace:
                raise invalid(f"{field}.profile", f"{context.profile} is not in workspace {workspace!r}")
        if context.HasField("profile_data"):
            data = context.profile_data
            if not profile_id and data.name:
                ws, _, profile_id = _split_profile(data.name, f"{field}.profile_data.name")
                if ws != workspace:
                    raise invalid(f"{field}.profile_data.name", f"{data.name} is not in workspace {workspace!r}")
            inline = profile_from_proto(data, profile_id)
            inline["name"] = f"workspaces/{workspace}/profiles/{profile_id}" if profile_id else ""
        message_id = ""
        if context.message:
            ws, message_id = name_field(context.message, "messages", f"{field}.message")
            if ws != workspace:
                raise invalid(f"{field}.message", f"{context.message} is not in workspace {workspace!r}")
        for i, segment in enumerate(context.segments):
            if "/" in segment:  # a name rather than an id: the segment must be of this workspace
                ws, _ = name_field(segment, "segments", f"{field}.segments[{i}]")
                if ws != workspace:
                    raise invalid(f"{field}.segments[{i}]", f"{segment} is not in workspace {workspace!r}")
        data = {}
        if context.HasField("data"):
            if context.data.ByteSize() > MAX_DATA_BYTES:
                raise invalid(f"{field}.data", f"at most {MAX_DATA_BYTES // 1024} KiB")
            data = _numbers(json_format.MessageToDict(context.data))
    except InvalidArgument as error:
        violation = error.violations[0]
        return RenderRequest(problem=("INVALID_ARGUMENT", violation.field, violation.description))
    return RenderRequest(profile_id, inline, tuple(context.segments), data, message_id)


def _split_profile(value: str, field: str) -> tuple[str, str, str]:
    parts = value.split("/")
    if (len(parts) != 4 or parts[0] != "workspaces" or parts[2] != "profiles"
            or not WORKSPACE_ID.fullmatch(parts[1]) or not PROFILE_ID.fullmatch(parts[3])):
        raise invalid(field, f"{value!r} is not a profile name `workspaces/{{workspace}}/profiles/{{id}}`")
    return parts[1], "profiles", parts[3]


def rendered_to_proto(content) -> rendered_pb.RenderedContent:
    out = rendered_pb.RenderedContent()
    if isinstance(content, RenderedEmail):
        out.email.CopyFrom(rendered_pb.RenderedEmail(
            subject=content.subject, preheader=content.preheader, html=content.html, text=content.text,
            from_name=content.from_name, from_address=content.from_address, reply_to=content.reply_to,
            headers=[rendered_pb.EmailHeader(name=n, value=v) for n, v in content.headers]))
    elif isinstance(content, RenderedSms):
        out.sms.body = content.body
    elif isinstance(content, RenderedPush):
        out.push.CopyFrom(rendered_pb.RenderedPush(title=content.title, body=content.body, data=content.data,
                                                   image_url=content.image_url, deep_link=content.deep_link))
    elif isinstance(content, RenderedInApp):
        out.in_app.CopyFrom(rendered_pb.RenderedInApp(
            title=content.title, body=content.body, image_url=content.image_url, data=content.data,
            actions=[rendered_pb.InAppAction(label=label, url=url) for label, url in content.actions]))
    return out

