"""Checks of a message a caller asks to send; each problem names its field."""

from __future__ import annotations

import json
import re

from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation

from svc_notify.domain.model import (CONTENT_CHANNEL, EmailContent, InAppContent, Message, PushContent,
                                     SmsContent)

EXTERNAL_ID = re.compile(r"[A-Za-z0-9._~@+-]{1,128}")
RESOURCE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
MAX_KEY = 256
MAX_LABELS = 64
MAX_LABEL_VALUE = 63
MAX_TEMPLATE_DATA = 64 * 1024
MAX_EMAIL_BODY = 2 * 1024 * 1024
MAX_SUBJECT = 998
MAX_SMS = 1600
MAX_PUSH_TEXT = 4000
MAX_HEADERS = 50
HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")  # printable ASCII without ':' (RFC 5322)
RESERVED_HEADERS = frozenset({"from", "to", "subject", "date", "message-id", "mime-version", "content-type",
                              "content-transfer-encoding", "reply-to", "x-notify-message"})


def profile_id(name: str, workspace: str) -> str | None:
    """The external id of `workspaces/{workspace}/profiles/{id}`, or None."""
    prefix = f"workspaces/{workspace}/profiles/"
    if not name.startswith(prefix) or not EXTERNAL_ID.fullmatch(name[len(prefix):]):
        return None
    return name[len(prefix):]


def is_template_name(name: str, workspace: str) -> bool:
    parts = name.split("/")
    if parts[:3] != ["workspaces", workspace, "templates"] or len(parts) not in (4, 6):
        return False
    if not RESOURCE_ID.fullmatch(parts[3]):
        return False
    return len(parts) == 4 or (parts[4] == "versions" and bool(RESOURCE_ID.fullmatch(parts[5])))


def is_campaign_name(name: str, workspace: str) -> bool:
    parts = name.split("/")
    return len(parts) == 4 and parts[:3] == ["workspaces", workspace, "campaigns"] and bool(
        RESOURCE_ID.fullmatch(parts[3]))


def label_violations(labels: dict[str, str], prefix: str) -> list[FieldViolation]:
    problems = []
    if len(labels) > MAX_LABELS:
        problems.append(FieldViolation(prefix + "labels", f"at most {MAX_LABELS} labels"))
    for key, value in labels.items():
        if not LABEL_KEY.fullmatch(key):
            problems.append(FieldViolation(f"{prefix}labels.{key}", "keys are 1-63 characters [a-z][a-z0-9_-]*"))
        if len(value) > MAX_LABEL_VALUE:
            problems.append(FieldViolation(f"{prefix}labels.{key}", f"values are at most {MAX_LABEL_VALUE} characters"))
    return problems


def content_violations(content, channel: Channel | None, prefix: str) -> list[FieldViolation]:
    problems: list[FieldViolation] = []
    if content is None:
        return [FieldViolation(prefix + "content", "set one of email, sms, push or in_app")]
    kind = CONTENT_CHANNEL[type(content)]
    if channel is not None and kind is not channel:
        problems.append(FieldViolation(prefix + "content", f"{kind.value.lower()} content on a CHANNEL_{channel.value} "
                                                           "message; give the channel's content"))
    if isinstance(content, EmailContent):
        p = prefix + "content.email."
        if not content.subject.strip():
            problems.append(FieldViolation(p + "subject", "required"))
        elif len(content.subject) > MAX_SUBJECT or "\n" in content.subject or "\r" in content.subject:
            problems.append(FieldViolation(p + "subject", f"one line of at most {MAX_SUBJECT} characters"))
        if not content.html and not content.text:
            problems.append(FieldViolation(p + "html", "give html, text or both"))
        if len(content.html.encode()) + len(content.text.encode()) > MAX_EMAIL_BODY:
            problems.append(FieldViolation(p + "html", "html and text together are at most 2 MiB"))
        for field_name in ("from_name", "from_address", "reply_to"):
            value = getattr(content, field_name)
            if "\n" in value or "\r" in value or len(value) > 320:
                problems.append(FieldViolation(p + field_name, "one line of at most 320 characters"))
        if content.from_address and "@" not in content.from_address:
            problems.append(FieldViolation(p + "from_address", "is not an email address"))
        if len(content.headers) > MAX_HEADERS:
            problems.append(FieldViolation(p + "headers", f"at most {MAX_HEADERS} headers"))
        for i, (name, value) in enumerate(content.headers):
            if not HEADER_NAME.fullmatch(name) or name.lower() in RESERVED_HEADERS:
                problems.append(FieldViolation(f"{p}headers[{i}].name", f"{name!r} is not a header a message may set"))
            if "\n" in value or "\r" in value or len(value) > 2000:
                problems.append(FieldViolation(f"{p}headers[{i}].value", "one line of at most 2,000 characters"))
    elif isinstance(content, SmsContent):
        if not content.body.strip():
            problems.append(FieldViolation(prefix + "content.sms.body", "required"))
        elif len(content.body) > MAX_SMS:
            problems.append(FieldViolation(prefix + "content.sms.body", f"at most {MAX_SMS} characters"))
    elif isinstance(content, PushContent):
        if not content.title.strip() and not content.body.strip():
            problems.append(FieldViolation(prefix + "content.push.title", "give a title, a body or both"))
        if len(content.title) + len(content.body) > MAX_PUSH_TEXT:
            problems.append(FieldViolation(prefix + "content.push.body", f"title and body are at most {MAX_PUSH_TEXT}"
                                                                         " characters"))
    elif isinstance(content, InAppContent):
        if not content.title.strip() and not content.body.strip():
            problems.append(FieldViolation(prefix + "content.in_app.title", "give a title, a body or both"))
    return problems


def message_violations(message: Message, prefix: str = "message.") -> list[FieldViolation]:
    problems: list[FieldViolation] = []
    if message.channel is None:
        problems.append(FieldViolation(prefix + "channel", "required: " + Channel.known_names()))
    if not message.recipient:
        problems.append(FieldViolation(prefix + "recipient", f"required: workspaces/{message.workspace}/profiles/"
                                                             "{profile} (a profile of this workspace)"))
    if not 1 <= len(message.idempotency_key) <= MAX_KEY:
        problems.append(FieldViolation(prefix + "idempotency_key", f"required, 1 to {MAX_KEY} characters; for "
                                                                   "campaign sends {campaign}/{profile}/{channel}/{step}"))
    if message.template is None and message.content is None:
        problems.append(FieldViolation(prefix + "source", "set template or content"))
    if message.template is not None:
        if not is_template_name(message.template.template, message.workspace):
            problems.append(FieldViolation(prefix + "template.template", f"workspaces/{message.workspace}/templates/"
                                                                         "{template}[/versions/{version}]"))
        if message.template.data is not None and len(json.dumps(message.template.data)) > MAX_TEMPLATE_DATA:
            problems.append(FieldViolation(prefix + "template.data", "at most 64 KiB as JSON"))
    if message.content is not None:
        problems += content_violations(message.content, message.channel, prefix)
    if message.campaign and not is_campaign_name(message.campaign, message.workspace):
        problems.append(FieldViolation(prefix + "campaign", f"workspaces/{message.workspace}/campaigns/{{campaign}}"))
    problems += label_violations(message.labels, prefix)
    return problems
