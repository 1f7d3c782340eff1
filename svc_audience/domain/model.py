"""Profiles: who a workspace can reach, how, and with what consent.

A profile is keyed by the workspace's own external id. Upsert merges: fields
given replace, attributes and device tokens merge by key, consents by
channel. Attribute values are typed (text, whole number, number, yes/no,
instant, list of texts) and a key keeps its type."""

from __future__ import annotations

import enum
import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, FieldViolation, InvalidArgument

EXTERNAL_ID = re.compile(r"[A-Za-z0-9._~@+-]{1,128}")
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
LOCALE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
ATTRIBUTE_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_ATTRIBUTES = 200
MAX_DEVICES = 20
MAX_TEXT = 4096
MAX_LIST = 1000
MAX_LIST_ITEM = 256

AttributeValue = Union[str, int, float, bool, datetime, tuple[str, ...]]  # noqa: UP007 - a runtime alias


class ConsentStatus(enum.Enum):
    UNKNOWN = "UNKNOWN"
    GRANTED = "GRANTED"
    DENIED = "DENIED"
    PENDING = "PENDING"


@dataclass(frozen=True)
class Consent:
    status: ConsentStatus
    update_time: datetime
    source: str = ""


@dataclass(frozen=True)
class DeviceToken:
    token: str
    platform: str = ""  # IOS, ANDROID, WEB or ""
    app_id: str = ""
    last_seen_time: datetime | None = None


def attribute_type(value: AttributeValue) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, tuple):
        return "string_list"
    return "string"


@dataclass(frozen=True)
class ProfileData:
    """What a caller writes on a profile; None means "not given" (upsert keeps it)."""

    email: str | None = None
    phone: str | None = None
    time_zone: str | None = None
    locale: str | None = None
    device_tokens: tuple[DeviceToken, ...] | None = None
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    consents: dict[Channel, Consent] = field(default_factory=dict)


@dataclass
class Profile:
    workspace: str
    external_id: str
    email: str = ""
    phone: str = ""
    time_zone: str = ""
    locale: str = ""
    device_tokens: tuple[DeviceToken, ...] = ()
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    consents: dict[Channel, Consent] = field(default_factory=dict)
    create_time: datetime | None = None
    update_time: datetime | None = None
    version: int = 0
    # Tracked behaviour, kept by the service (not writable through the API):
    # event name -> {"count": all time, "last": ms, "recent": newest-first ms}.
    behaviour: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen_events: tuple[str, ...] = ()  # ids of the last tracked events applied, for idempotency
    # Lookalike id -> this profile's score in [0, 1], written when a lookalike is fitted.
    scores: dict[str, float] = field(default_factory=dict)
    # Static segments (ids) the profile was added to explicitly (AddSegmentMembers), kept by the service.
    static_segments: tuple[str, ...] = ()

    @property
    def etag(self) -> str:
        return hashlib.blake2b(f"{self.workspace}/{self.external_id}/{self.version}".encode(),
                               digest_size=8).hexdigest()

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"etag {etag!r} is stale: the profile changed since it was read (current etag "
                          f"{self.etag!r}); read it again and retry")

    def merged(self, data: ProfileData, remove_attributes: tuple[str, ...], now: datetime) -> Profile:
        """This profile with `data` merged in (upsert semantics), validated."""
        problems = validate(data, "profile.")
        for key, value in data.attributes.items():
            if key in self.attributes and attribute_type(self.attributes[key]) != attribute_type(value):
                problems.append(FieldViolation(
                    f"profile.attributes[{key!r}]",
                    f"is a {attribute_type(self.attributes[key])} attribute; got a {attribute_type(value)}"))
        if problems:
            raise InvalidArgument(problems)
        devices = {d.token: d for d in self.device_tokens}
        devices.update({d.token: d for d in data.device_tokens or ()})
        attributes = {k: v for k, v in self.attributes.items() if k not in remove_attributes}
        attributes.update(data.attributes)
        if len(attributes) > MAX_ATTRIBUTES:
            raise InvalidArgument(FieldViolation("profile.attributes",
                                                 f"at most {MAX_ATTRIBUTES} attributes, would be {len(attributes)}"))
        if len(devices) > MAX_DEVICES:
            raise InvalidArgument(FieldViolation("profile.device_tokens",
                                                 f"at most {MAX_DEVICES} devices, would be {len(devices)}"))
        return replace(
            self,
            email=normalise_email(data.email) if data.email is not None else self.email,
            phone=data.phone if data.phone is not None else self.phone,
            time_zone=data.time_zone if data.time_zone is not None else self.time_zone,
            locale=data.locale if data.locale is not None else self.locale,
            device_tokens=tuple(devices.values()),
            attributes=attributes,
            consents={**self.consents, **data.consents},
            create_time=self.create_time or now,
            update_time=now,
            version=self.version + 1,
        )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def validate(data: ProfileData, prefix: str) -> list[FieldViolation]:
    out: list[FieldViolation] = []
    if data.email and not EMAIL.fullmatch(data.email.strip()):
        out.append(FieldViolation(prefix + "email", f"{data.email!r} is not an email address"))
    if data.phone and not PHONE.fullmatch(data.phone):
        out.append(FieldViolation(prefix + "phone", f"{data.phone!r} is not an E.164 number such as +33612345678"))
    if data.time_zone:
        try:
            ZoneInfo(data.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            out.append(FieldViolation(prefix + "time_zone", f"{data.time_zone!r} is not an IANA time zone"))
    if data.locale and not LOCALE.fullmatch(data.locale):
        out.append(FieldViolation(prefix + "locale", f"{data.locale!r} is not a BCP 47 tag such as fr-FR"))
    for key, value in data.attributes.items():
        at = f"{prefix}attributes[{key!r}]"
        if not ATTRIBUTE_KEY.fullmatch(key):
            out.append(FieldViolation(at, "key must be 1-64 characters [a-z][a-z0-9_]*"))
        elif isinstance(value, str) and len(value) > MAX_TEXT:
            out.append(FieldViolation(at, f"text of at most {MAX_TEXT} characters"))
        elif isinstance(value, float) and not math.isfinite(value):
            out.append(FieldViolation(at, "NaN and infinities are not numbers a segment can compare"))
        elif isinstance(value, tuple) and (len(value) > MAX_LIST or any(len(v) > MAX_LIST_ITEM for v in value)):
            out.append(FieldViolation(at, f"at most {MAX_LIST} texts of at most {MAX_LIST_ITEM} characters"))
    for token in data.device_tokens or ():
        if not token.token:
            out.append(FieldViolation(prefix + "device_tokens", "a device needs its token"))
    return out
