"""Checks of plain fields (names, labels, variants, defaults); each returns field violations."""

from __future__ import annotations

import re

from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation

from svc_content.domain import namespace
from svc_content.domain.model import Content, EmailContent, InAppContent, PushContent, SmsContent, TemplateDraft

LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
VARIANT_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
MAX_LABELS = 64
MAX_DEFAULTS = 100
MAX_DEFAULT_VALUE = 1000
MAX_DATA_KEYS = 50
MAX_ACTIONS = 3


def check_labels(labels: dict[str, str], field: str) -> list[FieldViolation]:
    out = []
    if len(labels) > MAX_LABELS:
        out.append(FieldViolation(field, f"at most {MAX_LABELS} labels, got {len(labels)}"))
    for key, value in labels.items():
        if not LABEL_KEY.fullmatch(key):
            out.append(FieldViolation(f"{field}.{key}", "label keys are 1-63 characters [a-z][a-z0-9_-]*"))
        if len(value) > 63:
            out.append(FieldViolation(f"{field}.{key}", "label values are at most 63 characters"))
    return out


def check_display_name(value: str, field: str) -> list[FieldViolation]:
    """Required; at most 200 characters is a rule of template.proto."""
    return [FieldViolation(field, "required")] if not value.strip() else []


def check_content_shape(content: Content | None, channel: Channel, field: str) -> list[FieldViolation]:
    if content is None:
        return []
    if content.channel is not channel:
        return [FieldViolation(field, f"holds {content.kind} content but the template's channel is "
                                      f"{channel.value}")]
    out = []
    if isinstance(content, (PushContent, InAppContent)):
        if len(content.data) > MAX_DATA_KEYS:
            out.append(FieldViolation(f"{field}.{content.kind}.data", f"at most {MAX_DATA_KEYS} keys"))
        for key in content.data:
            if not key or len(key) > 128:
                out.append(FieldViolation(f"{field}.{content.kind}.data", "keys are 1-128 characters"))
    if isinstance(content, InAppContent):
        if len(content.actions) > MAX_ACTIONS:
            out.append(FieldViolation(f"{field}.in_app.actions", f"at most {MAX_ACTIONS} buttons"))
        if content.time_to_live_seconds is not None and content.time_to_live_seconds <= 0:
            out.append(FieldViolation(f"{field}.in_app.time_to_live", "must be positive"))
    return out


def check_draft_fields(draft: TemplateDraft, channel: Channel, prefix: str = "template") -> list[FieldViolation]:
    # The lengths, at most 10 variants and their weights' range are rules of template.proto,
    # enforced on every request by the server interceptor (svc_kit.validation).
    out = check_display_name(draft.display_name, f"{prefix}.display_name")
    out += check_labels(draft.labels, f"{prefix}.labels")
    out += check_content_shape(draft.content, channel, f"{prefix}.content")
    seen: set[str] = set()
    for i, variant in enumerate(draft.variants):
        at = f"{prefix}.variants[{i}]"
        if not VARIANT_ID.fullmatch(variant.id):
            out.append(FieldViolation(f"{at}.id", "required: 1-63 characters [a-z][a-z0-9-]*"))
        elif variant.id in seen:
            out.append(FieldViolation(f"{at}.id", f"{variant.id!r} is used twice"))
        seen.add(variant.id)
        if variant.content is None:
            out.append(FieldViolation(f"{at}.content", "required"))
        out += check_content_shape(variant.content, channel, f"{at}.content")
    if draft.variants and not any(v.weight > 0 for v in draft.variants):
        out.append(FieldViolation(f"{prefix}.variants", "at least one variant needs a weight above 0"))
    if len(draft.defaults) > MAX_DEFAULTS:
        out.append(FieldViolation(f"{prefix}.defaults", f"at most {MAX_DEFAULTS} entries"))
    for key, value in draft.defaults.items():
        problem = namespace.check_default_key(key)
        if problem:
            out.append(FieldViolation(f"{prefix}.defaults.{key}", problem))
        if len(value) > MAX_DEFAULT_VALUE:
            out.append(FieldViolation(f"{prefix}.defaults.{key}", f"at most {MAX_DEFAULT_VALUE} characters"))
    return out


def missing_for_publish(content: Content | None, field: str) -> list[FieldViolation]:
    """What a content lacks to be sent (checked when publishing, not when saving a draft)."""
    if content is None:
        return [FieldViolation(field, "required")]
    need: list[str] = []
    if isinstance(content, EmailContent):
        need = [n for n, v in (("subject", content.subject), ("html", content.html)) if not v.strip()]
    elif isinstance(content, SmsContent):
        need = ["body"] if not content.body.strip() else []
    elif not (content.title.strip() or content.body.strip()):
        need = ["title"]
    return [FieldViolation(f"{field}.{content.kind}.{n}", "required to publish") for n in need]
