"""Suppression: addresses (or whole profiles) that must not be sent to, on
one channel or on every channel (global), for a reason, optionally until a time.

Rules kept here, free of storage:
- one entry per (subject, channel); an entry past its `expire_time` no longer
  applies (and a new entry for the same key replaces it);
- an email entry is for CHANNEL_EMAIL or every channel, a phone entry for
  CHANNEL_SMS or every channel, a profile entry for any channel;
- a transactional message skips consent and UNSUBSCRIBED entries, but honours
  BOUNCED, COMPLAINED and MANUAL ones;
- reachability of a profile on a channel: NOT_FOUND, then NO_ADDRESS, then
  NO_CONSENT (marketing only), then SUPPRESSED, naming the entry that applies.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, FieldViolation, InvalidArgument
from svc_kit.filtering import parse_filter

from svc_audience.domain.model import EMAIL, EXTERNAL_ID, PHONE, ConsentStatus, Profile, normalise_email

SUBJECT_KINDS = ("email", "phone", "profile")
MAX_NOTE = 1000
MAX_SOURCE = 200
UPDATABLE = frozenset({"reason", "note", "expire_time"})
UNSUBSCRIBE_SOURCE = "unsubscribe-link"
# The one channel each address kind is for, besides every channel (global).
_ADDRESS_CHANNEL = {"email": Channel.EMAIL, "phone": Channel.SMS}


class Reason(enum.Enum):
    UNSUBSCRIBED = "UNSUBSCRIBED"
    BOUNCED = "BOUNCED"
    COMPLAINED = "COMPLAINED"
    MANUAL = "MANUAL"


class Category(enum.Enum):
    """Kind of message a reachability check is for (MessageCategory)."""

    MARKETING = "MARKETING"
    TRANSACTIONAL = "TRANSACTIONAL"


@dataclass(frozen=True)
class Suppression:
    workspace: str
    suppression_id: str
    subject_kind: str  # "email", "phone" or "profile" (an external id)
    subject: str  # normalised: emails lower-cased
    channel: Channel | None  # None: every channel
    reason: Reason
    note: str = ""
    source: str = ""
    campaign: str = ""  # campaign id, in the same workspace
    expire_time: datetime | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/suppressions/{self.suppression_id}"

    @property
    def key(self) -> tuple[str, str, Channel | None]:
        """What is unique in a workspace: the subject and the channel."""
        return self.subject_kind, self.subject, self.channel

    @property
    def etag(self) -> str:
        return hashlib.blake2b(f"{self.workspace}/{self.suppression_id}/{self.version}".encode(),
                               digest_size=8).hexdigest()

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"etag {etag!r} is stale: {self.name} changed since it was read (current etag "
                          f"{self.etag!r}); read it again and retry")

    def active(self, now: datetime) -> bool:
        return self.expire_time is None or self.expire_time > now

    def blocks(self, category: Category) -> bool:
        """Whether the entry stops a message of `category` (when it matches)."""
        return category is Category.MARKETING or self.reason is not Reason.UNSUBSCRIBED

    def matches(self, profile: Profile, channel: Channel) -> bool:
        """Whether the entry names this profile (by id or by one of its addresses) on `channel`."""
        if self.channel is not None and self.channel is not channel:
            return False
        if self.subject_kind == "profile":
            return self.subject == profile.external_id
        if self.subject_kind == "email":
            return bool(profile.email) and self.subject == profile.email
        return bool(profile.phone) and self.subject == profile.phone

    def applies(self, profile: Profile, channel: Channel, category: Category, now: datetime) -> bool:
        return self.active(now) and self.blocks(category) and self.matches(profile, channel)


@dataclass(frozen=True)
class Entry:
    """What a caller asks to suppress (create or import), before it gets an id."""

    subject_kind: str
    subject: str
    channel: Channel | None
    reason: Reason | None
    note: str = ""
    source: str = ""
    campaign: str = ""
    expire_time: datetime | None = None

    @property
    def key(self) -> tuple[str, str, Channel | None]:
        return self.subject_kind, self.subject, self.channel


def subject_label(kind: str, subject: str, channel: Channel | None) -> str:
    where = f"CHANNEL_{channel.value}" if channel else "every channel"
    return f"{kind} {subject} on {where}"


def validated(entry: Entry, now: datetime, prefix: str = "suppression.") -> Entry:
    """The entry normalised (emails lower-cased), or InvalidArgument naming every bad field."""
    problems: list[FieldViolation] = []
    kind, subject = entry.subject_kind, entry.subject
    if kind == "email":
        subject = normalise_email(subject)
        if not EMAIL.fullmatch(subject):
            problems.append(FieldViolation(prefix + "email", f"{subject!r} is not an email address"))
    elif kind == "phone":
        subject = subject.strip()
        if not PHONE.fullmatch(subject):
            problems.append(FieldViolation(prefix + "phone", f"{subject!r} is not an E.164 number"))
    elif kind == "profile":
        if not EXTERNAL_ID.fullmatch(subject):
            problems.append(FieldViolation(prefix + "profile", "not a profile of this workspace"))
    else:
        problems.append(FieldViolation(prefix.rstrip("."), "set one of email, phone or profile"))
    if kind in _ADDRESS_CHANNEL and entry.channel not in (None, _ADDRESS_CHANNEL[kind]):
        problems.append(FieldViolation(prefix + "channel", f"an {kind} entry is for CHANNEL_"
                                                           f"{_ADDRESS_CHANNEL[kind].value} or every channel "
                                                           "(CHANNEL_UNSPECIFIED)"))
    if entry.reason is None:
        problems.append(FieldViolation(prefix + "reason", "required: REASON_UNSUBSCRIBED, REASON_BOUNCED, "
                                                          "REASON_COMPLAINED or REASON_MANUAL"))
    problems += _checked_details(entry.note, entry.source, entry.expire_time, now, prefix)
    if problems:
        raise InvalidArgument(problems)
    return Entry(kind, subject, entry.channel, entry.reason, entry.note, entry.source, entry.campaign,
                 entry.expire_time)


def _checked_details(note: str, source: str, expire_time: datetime | None, now: datetime,
                     prefix: str) -> list[FieldViolation]:
    problems = []
    if len(note) > MAX_NOTE:
        problems.append(FieldViolation(prefix + "note", f"at most {MAX_NOTE:,} characters"))
    if len(source) > MAX_SOURCE:
        problems.append(FieldViolation(prefix + "source", f"at most {MAX_SOURCE} characters"))
    if expire_time is not None and expire_time <= now:
        problems.append(FieldViolation(prefix + "expire_time", "must be in the future; delete the entry to end "
                                                               "it now"))
    return problems


def changed(current: Suppression, reason: Reason | None, note: str, expire_time: datetime | None,
            paths: frozenset[str], now: datetime) -> Suppression:
    """`current` with the fields named in `paths` replaced (UpdateSuppression)."""
    unknown = sorted(paths - UPDATABLE)
    if not paths or unknown:
        raise InvalidArgument(FieldViolation("update_mask", f"name fields among {', '.join(sorted(UPDATABLE))}"
                                             + (f"; cannot change: {', '.join(unknown)}" if unknown else "")))
    problems = _checked_details(note if "note" in paths else "", "",
                                expire_time if "expire_time" in paths else None, now, "suppression.")
    if "reason" in paths and reason is None:
        problems.append(FieldViolation("suppression.reason", "required: REASON_UNSUBSCRIBED, REASON_BOUNCED, "
                                                             "REASON_COMPLAINED or REASON_MANUAL"))
    if problems:
        raise InvalidArgument(problems)
    return Suppression(
        current.workspace, current.suppression_id, current.subject_kind, current.subject, current.channel,
        reason if "reason" in paths else current.reason,
        note if "note" in paths else current.note,
        current.source, current.campaign,
        expire_time if "expire_time" in paths else current.expire_time,
        current.create_time, now, current.version + 1)


def refreshed(current: Suppression, entry: Entry, now: datetime) -> Suppression:
    """`current` taking the reason, note and expiry of an imported entry."""
    return Suppression(current.workspace, current.suppression_id, current.subject_kind, current.subject,
                       current.channel, entry.reason or current.reason, entry.note, current.source,
                       entry.campaign or current.campaign, entry.expire_time, current.create_time, now,
                       current.version + 1)


# -- the list filter ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    field: str  # "channel" (None: global), "reason", "email", "phone", "profile", "source" or "create_time"
    op: str  # "=", "!=", "<", "<=", ">", ">="
    value: object


FILTER_FIELDS = ("channel", "reason", "email", "phone", "profile", "source", "create_time")


def parse_suppression_filter(text: str, workspace: str) -> tuple[Condition, ...]:
    """ListSuppressions / ExportSuppressions filter: terms joined by AND, e.g.
    `channel = CHANNEL_EMAIL AND reason != REASON_MANUAL AND create_time >= "2026-03-01T00:00:00Z"`."""

    def fail(message: str) -> InvalidArgument:
        return InvalidArgument(FieldViolation("filter", message))

    conditions = []
    for term in parse_filter(text, comparisons=True):
        if term.field not in FILTER_FIELDS:
            raise fail(f"cannot filter on {term.field!r}; use {', '.join(FILTER_FIELDS)}")
        if term.op == "has":
            raise fail(f"{term.field}:* is not supported; compare {term.field} with = or !=")
        if term.field != "create_time" and term.op not in ("=", "!="):
            raise fail(f"{term.field} compares with = or != only, not {term.op}")
        value: object = term.value
        if term.field == "channel":
            name = term.value.upper().removeprefix("CHANNEL_")
            if name in ("UNSPECIFIED", "ALL", ""):
                value = None
            else:
                try:
                    value = Channel(name)
                except ValueError:
                    raise fail(f"unknown channel {term.value!r}; one of {Channel.known_names()} or "
                               "CHANNEL_UNSPECIFIED (entries for every channel)") from None
        elif term.field == "reason":
            try:
                value = Reason(term.value.upper().removeprefix("REASON_"))
            except ValueError:
                names = ", ".join(f"REASON_{r.value}" for r in Reason)
                raise fail(f"unknown reason {term.value!r}; one of {names}") from None
        elif term.field == "email":
            value = normalise_email(term.value)
        elif term.field == "profile":
            prefix = f"workspaces/{workspace}/profiles/"
            value = term.value.removeprefix(prefix)
            if "/" in value or not EXTERNAL_ID.fullmatch(value):
                raise fail(f"profile {term.value!r} is not `{prefix}{{id}}`")
        elif term.field == "create_time":
            try:
                value = datetime.fromisoformat(term.value.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise fail(f"create_time {term.value!r} is not an RFC 3339 time like "
                           "\"2026-03-01T12:00:00Z\"") from None
            if value.tzinfo is None:
                raise fail(f"create_time {term.value!r} needs a time zone (Z or +hh:mm)")
        conditions.append(Condition(term.field, term.op, value))
    return tuple(conditions)


# -- reachability ------------------------------------------------------------------------------------------


class Unreachable(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    NO_ADDRESS = "NO_ADDRESS"
    NO_CONSENT = "NO_CONSENT"
    SUPPRESSED = "SUPPRESSED"


@dataclass(frozen=True)
class Reachability:
    external_id: str
    reason: Unreachable | None  # None: reachable
    suppression: Suppression | None = None

    @property
    def reachable(self) -> bool:
        return self.reason is None


def has_address(profile: Profile, channel: Channel) -> bool:
    """The same rule as the segment member query (segment_store.REACHABLE)."""
    if channel is Channel.EMAIL:
        return bool(profile.email)
    if channel is Channel.SMS:
        return bool(profile.phone)
    if channel is Channel.PUSH:
        return bool(profile.device_tokens)
    return True  # in-app messages reach whoever opens the app


def reachability(external_id: str, profile: Profile | None, channel: Channel, category: Category,
                 suppressions: list[Suppression], now: datetime) -> Reachability:
    if profile is None:
        return Reachability(external_id, Unreachable.NOT_FOUND)
    if not has_address(profile, channel):
        return Reachability(external_id, Unreachable.NO_ADDRESS)
    if category is Category.MARKETING:
        consent = profile.consents.get(channel)
        if consent is None or consent.status is not ConsentStatus.GRANTED:
            return Reachability(external_id, Unreachable.NO_CONSENT)
    applying = [s for s in suppressions if s.applies(profile, channel, category, now)]
    if applying:
        # The oldest entry that applies, so that the same one is named every time.
        first = min(applying, key=lambda s: (s.create_time is None, s.create_time, s.suppression_id))
        return Reachability(external_id, Unreachable.SUPPRESSED, first)
    return Reachability(external_id, None)
