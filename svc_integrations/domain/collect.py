"""Segment HTTP Tracking API calls, read and checked, and what they become on the
platform. Pure Python.

- Limits as Segment's spec: 32 KB per call (a single call's body, or each call of a
  batch as JSON), 500 KB per batch body. Over them, malformed JSON, a call without
  `userId` or `anonymousId`, a `track` without `event`: InvalidArgument (REST 400).
- Clock skew, as Segment corrects it: when the call has `sentAt` (its own, else the
  batch's), `timestamp = receivedAt - (sentAt - timestamp)`; without `timestamp`, the
  time it was received. `originalTimestamp` keeps what the client sent.
- `identify` -> a profile change (traits -> attributes, `traits.email`/`traits.phone`
  -> the profile's channels, `userId` the external id, else `anonymousId`);
  `group` -> the group's id and traits as `group_*` attributes of the user's profile;
  `alias` -> `previous_id` on the `userId` profile;
  `track`/`page`/`screen` -> behaviour events (`order_completed`, `page_viewed`,
  `screen_viewed`) with properties, `context` (JSON text) and the profile reference.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import zlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Union

from svc_kit.errors import FieldViolation, InvalidArgument

MAX_CALL_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
KINDS = ("track", "identify", "page", "screen", "group", "alias")
MAX_MESSAGE_ID = 255
PROFILE_ID = re.compile(r"[A-Za-z0-9._~@+-]{1,128}")  # a profile's external id, as audience allows
ATTRIBUTE_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
EMAIL = re.compile(r"[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?)+")
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
MAX_TEXT = 4096
MAX_LIST = 1000
MAX_LIST_ITEM = 256
MAX_ATTRIBUTES = 150  # of the profile's 200, leaving room for the workspace's own
MAX_PROPERTIES = 90   # of an event's 100, leaving room for event/name/context/...
EVENT_TYPES = {"page": "page_viewed", "screen": "screen_viewed"}
SOURCE_PREFIX = "segment:"

Value = Union[str, int, float, bool, tuple[str, ...]]  # noqa: UP007 - a runtime alias


@dataclass(frozen=True)
class Call:
    """One Segment call, checked; `timestamp` is corrected for the client's clock skew."""

    kind: str
    message_id: str
    user_id: str
    anonymous_id: str
    timestamp: datetime
    received_at: datetime
    original_timestamp: datetime | None = None
    event: str = ""
    name: str = ""
    category: str = ""
    group_id: str = ""
    previous_id: str = ""
    properties: dict = field(default_factory=dict)
    traits: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)

    @property
    def profile(self) -> str:
        return self.user_id or self.anonymous_id


@dataclass(frozen=True)
class ProfileChange:
    """An upsert of one profile (merge: attributes by key)."""

    profile: str
    email: str = ""
    phone: str = ""
    attributes: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class BehaviourEvent:
    event_id: str
    type: str
    profile: str
    event_time: datetime
    source: str
    properties: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """A decoded body: its calls' raw objects, the batch-level fields, the body's writeKey."""

    calls: list[tuple[str, dict, str]]  # (kind, object, field path for errors)
    write_key: str
    sent_at: Any
    context: dict


def decode(kind: str, body: bytes) -> Request:
    """The body of `/v1/<kind>` (or `/v1/batch` with kind "batch"), within the size limits."""
    limit = MAX_BATCH_BYTES if kind == "batch" else MAX_CALL_BYTES
    if body[:2] == b"\x1f\x8b":  # gzip (the SDKs' `gzip` option sends Content-Encoding: gzip)
        body = _gunzip(body, limit)
    if len(body) > limit:
        raise InvalidArgument(FieldViolation(
            "body", f"at most {limit // 1024} KB per {'batch' if kind == 'batch' else 'call'}, got {len(body)} bytes"))
    try:
        document = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidArgument(FieldViolation("body", f"not JSON: {error}")) from None
    if not isinstance(document, dict):
        raise InvalidArgument(FieldViolation("body", "must be a JSON object"))
    write_key = document.get("writeKey") if isinstance(document.get("writeKey"), str) else ""
    context = document.get("context") if isinstance(document.get("context"), dict) else {}
    if kind != "batch":
        return Request([(kind, document, "")], write_key, None, {})
    batch = document.get("batch")
    if not isinstance(batch, list) or not batch:
        raise InvalidArgument(FieldViolation("batch", "required: a list of calls"))
    calls = []
    for index, item in enumerate(batch):
        where = f"batch[{index}]"
        if not isinstance(item, dict):
            raise InvalidArgument(FieldViolation(where, "must be a JSON object"))
        item_kind = item.get("type")
        if item_kind not in KINDS:
            raise InvalidArgument(FieldViolation(f"{where}.type", f"must be one of {', '.join(KINDS)}"))
        size = len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_CALL_BYTES:
            raise InvalidArgument(FieldViolation(where, f"at most {MAX_CALL_BYTES // 1024} KB per call, got {size} "
                                                        "bytes"))
        calls.append((item_kind, item, where + "."))
    return Request(calls, write_key, document.get("sentAt"), context)


def _gunzip(body: bytes, limit: int) -> bytes:
    """The gzip body inflated, never more than one byte past `limit` (the size check then refuses it)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise InvalidArgument(FieldViolation("body", f"not valid gzip: {error}")) from None


def parse_time(value: Any, where: str) -> datetime | None:
    """An ISO 8601 instant (UTC when it names no offset); None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidArgument(FieldViolation(where, "must be an ISO 8601 date-time string"))
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        raise InvalidArgument(FieldViolation(where, f"not an ISO 8601 date-time: {value[:64]!r}")) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def corrected_time(timestamp: datetime | None, sent_at: datetime | None, received_at: datetime) -> datetime:
    """Segment's clock-skew correction: receivedAt - (sentAt - timestamp)."""
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp
    return received_at - (sent_at - timestamp)


def _text(value: Any, where: str, required: bool = False, limit: int = MAX_TEXT) -> str:
    if value is None or value == "":
        if required:
            raise InvalidArgument(FieldViolation(where, "required"))
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # Segment accepts numeric ids
    if not isinstance(value, str):
        raise InvalidArgument(FieldViolation(where, "must be a string"))
    if len(value) > limit:
        raise InvalidArgument(FieldViolation(where, f"at most {limit} characters"))
    return value


def _object(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(FieldViolation(where, "must be a JSON object"))
    return value


def read_calls(request: Request, received_at: datetime, new_id) -> list[Call]:
    """The request's calls, checked, with their corrected timestamps; a call without
    `messageId` gets one from new_id() (it cannot be deduplicated)."""
    batch_sent = parse_time(request.sent_at, "sentAt")
    calls = []
    for kind, raw, where in request.calls:
        user_id = _text(raw.get("userId"), f"{where}userId", limit=128)
        anonymous_id = _text(raw.get("anonymousId"), f"{where}anonymousId", limit=128)
        if kind == "alias":
            if not user_id:
                raise InvalidArgument(FieldViolation(f"{where}userId", "required in an alias"))
        elif not user_id and not anonymous_id:
            raise InvalidArgument(FieldViolation(f"{where}userId", "userId or anonymousId is required"))
        for value, name in ((user_id, "userId"), (anonymous_id, "anonymousId")):
            if value and not PROFILE_ID.fullmatch(value):
                raise InvalidArgument(FieldViolation(f"{where}{name}", "must be 1-128 characters [A-Za-z0-9._~@+-]"))
        timestamp = parse_time(raw.get("timestamp"), f"{where}timestamp")
        sent_at = parse_time(raw.get("sentAt"), f"{where}sentAt") or batch_sent
        original = parse_time(raw.get("originalTimestamp"), f"{where}originalTimestamp") or timestamp
        context = {**request.context, **_object(raw.get("context"), f"{where}context")}
        message_id = _text(raw.get("messageId"), f"{where}messageId", limit=MAX_MESSAGE_ID) or new_id()
        extra: dict[str, Any] = {}
        if kind == "track":
            extra["event"] = _text(raw.get("event"), f"{where}event", required=True, limit=200)
            extra["properties"] = _object(raw.get("properties"), f"{where}properties")
        elif kind in ("page", "screen"):
            extra["name"] = _text(raw.get("name"), f"{where}name", limit=200)
            extra["category"] = _text(raw.get("category"), f"{where}category", limit=200)
            extra["properties"] = _object(raw.get("properties"), f"{where}properties")
        elif kind == "identify":
            extra["traits"] = _object(raw.get("traits", context.get("traits")), f"{where}traits")
        elif kind == "group":
            extra["group_id"] = _text(raw.get("groupId"), f"{where}groupId", required=True, limit=128)
            extra["traits"] = _object(raw.get("traits"), f"{where}traits")
        elif kind == "alias":
            extra["previous_id"] = _text(raw.get("previousId"), f"{where}previousId", required=True, limit=128)
        calls.append(Call(kind=kind, message_id=message_id, user_id=user_id, anonymous_id=anonymous_id,
                          timestamp=corrected_time(timestamp, sent_at, received_at), received_at=received_at,
                          original_timestamp=original, context=context, **extra))
    return calls


def snake_key(name: str) -> str:
    """`firstName` -> `first_name`, `Order Completed` -> `order_completed`; "" when nothing is left."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    if text and not text[0].isalpha():
        text = "n_" + text
    return text[:64].rstrip("_")


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)[:MAX_TEXT]


def _value(value: Any) -> Value | None:
    """A JSON value as an attribute value: scalars as they are, a list of strings as a list,
    anything else as its JSON text; None (dropped) for null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -2**63 <= value < 2**63 else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(item[:MAX_LIST_ITEM] for item in value[:MAX_LIST])
    return _json_text(value)


def flatten(values: dict, prefix: str = "", limit: int = MAX_ATTRIBUTES) -> dict[str, Value]:
    """Traits or properties as attribute keys and values: keys in snake_case, one level of
    nested objects joined with `_` (`address.city` -> `address_city`), at most `limit`."""
    out: dict[str, Value] = {}
    for raw_key, raw in values.items():
        key = snake_key(prefix + str(raw_key))
        if not key or not ATTRIBUTE_KEY.fullmatch(key):
            continue
        if isinstance(raw, dict) and not prefix:
            for nested_key, nested in flatten(raw, key + "_", limit).items():
                out.setdefault(nested_key, nested)
            continue
        value = _value(raw)
        if value is not None:
            out.setdefault(key, value)
    return dict(list(out.items())[:limit])


def _channel(traits: dict, key: str, pattern: re.Pattern, clean) -> str:
    value = traits.get(key)
    if not isinstance(value, str):
        return ""
    cleaned = clean(value)
    return cleaned if pattern.fullmatch(cleaned) else ""


def event_id(source_id: str, message_id: str) -> str:
    """The analytics event id of a call: the same for a retried call (analytics deduplicates too)."""
    return "seg:" + hashlib.sha256(f"{source_id}\0{message_id}".encode()).hexdigest()[:40]


def profile_change(call: Call) -> ProfileChange | None:
    if call.kind == "identify":
        traits = call.traits
        email = _channel(traits, "email", EMAIL, lambda v: v.strip())
        phone = _channel(traits, "phone", PHONE, lambda v: re.sub(r"[\s().-]", "", v))
        attributes = flatten({k: v for k, v in traits.items()
                              if not (k == "email" and email) and not (k == "phone" and phone)})
        if call.user_id and call.anonymous_id:
            attributes.setdefault("anonymous_id", call.anonymous_id)
        return ProfileChange(call.profile, email, phone, attributes)
    if call.kind == "group":
        attributes = {"group_id": call.group_id, **flatten(call.traits, "group_")}
        return ProfileChange(call.profile, attributes=attributes)
    if call.kind == "alias":
        return ProfileChange(call.user_id, attributes={"previous_id": call.previous_id})
    return None


def behaviour_event(source_id: str, call: Call) -> BehaviourEvent | None:
    if call.kind not in ("track", "page", "screen"):
        return None
    if call.kind == "track":
        kind = snake_key(call.event) or "event"
        named: dict[str, Value] = {"event": call.event}
    else:
        kind = EVENT_TYPES[call.kind]
        named = {key: value for key, value in (("name", call.name), ("category", call.category)) if value}
    properties: dict[str, Value] = {**flatten(call.properties, limit=MAX_PROPERTIES), **named}
    properties["segment_type"] = call.kind
    properties["message_id"] = call.message_id
    if call.user_id and call.anonymous_id:
        properties["anonymous_id"] = call.anonymous_id
    if call.original_timestamp is not None:
        properties["original_timestamp"] = call.original_timestamp.isoformat()
    properties["received_at"] = call.received_at.isoformat()
    if call.context:
        properties["context"] = json.dumps(call.context, separators=(",", ":"), ensure_ascii=False, default=str)
    return BehaviourEvent(event_id(source_id, call.message_id), kind, call.profile, call.timestamp,
                          SOURCE_PREFIX + source_id, properties)


def basic_user(authorization: str) -> str:
    """The user name of `Authorization: Basic base64(user:password)`; "" for anything else."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return ""
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0]
