"""Template content to and from the JSON stored in the database."""

from __future__ import annotations

from dataclasses import asdict

from svc_content.domain.model import (Content, EmailContent, InAppAction, InAppContent, PushContent, SmsContent,
                                      Variant)

_TYPES = {"email": EmailContent, "sms": SmsContent, "push": PushContent, "in_app": InAppContent}


def content_to_json(content: Content | None) -> dict | None:
    if content is None:
        return None
    return {"kind": content.kind, **asdict(content)}


def content_from_json(data: dict | None) -> Content | None:
    if data is None:
        return None
    data = dict(data)
    kind = data.pop("kind")
    if kind == "in_app":
        data["actions"] = tuple(InAppAction(**a) for a in data.get("actions", ()))
    known = _TYPES[kind].__dataclass_fields__
    return _TYPES[kind](**{k: v for k, v in data.items() if k in known})


def body_to_json(content: Content | None, variants: tuple[Variant, ...], defaults: dict[str, str]) -> dict:
    return {"content": content_to_json(content),
            "variants": [{"id": v.id, "display_name": v.display_name, "weight": v.weight,
                          "content": content_to_json(v.content)} for v in variants],
            "defaults": dict(defaults)}


def body_from_json(data: dict) -> tuple[Content | None, tuple[Variant, ...], dict[str, str]]:
    variants = tuple(Variant(v["id"], v.get("display_name", ""), v.get("weight", 0),
                             content_from_json(v.get("content"))) for v in data.get("variants", ()))
    return content_from_json(data.get("content")), variants, dict(data.get("defaults", {}))
