"""Outbound webhooks, pure: event types `<resource>.<event>`, the Standard Webhooks
payload and signature, secrets in `whsec_<base64>` form, the retry schedule, the
rules a subscription's URL must follow, and the state machines of a webhook and of
one delivery (https://www.standardwebhooks.com/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import random
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from svc_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument

# The event types a webhook can subscribe to, each `<resource>.<event>`, with the bus
# event (`event_type` of the envelope) it comes from.
EVENT_TYPES: dict[str, str] = {
    "campaign.created": "campaign_created",
    "campaign.updated": "campaign_updated",
    "campaign.scheduled": "campaign_scheduled",
    "campaign.unscheduled": "campaign_unscheduled",
    "campaign.launched": "campaign_started",
    "campaign.paused": "campaign_paused",
    "campaign.resumed": "campaign_resumed",
    "campaign.completed": "campaign_completed",
    "campaign.cancelled": "campaign_cancelled",
    "campaign.failed": "campaign_failed",
    "campaign.deleted": "campaign_deleted",
    "message.sent": "message_sent",
    "message.delivered": "message_delivered",
    "message.failed": "message_failed",
    "message.suppressed": "message_suppressed",
    "message.bounced": "message_bounced",
    "message.complained": "message_complained",
    "message.opened": "message_opened",
    "message.clicked": "message_clicked",
    "message.unsubscribed": "profile_unsubscribed",
    "profile.erased": "profile_erased",
    "segment.updated": "segment_updated",
    "segment.deleted": "segment_deleted",
}
BY_BUS_TYPE: dict[str, str] = {bus: public for public, bus in EVENT_TYPES.items()}
PING = "webhook.ping"  # what :test sends; not subscribable

MAX_EVENT_TYPES = 50
MAX_URI = 2048
MAX_HEADERS = 20
# Headers a subscription may not set: the signature's, and those the HTTP client owns.
RESERVED_HEADERS = frozenset({"webhook-id", "webhook-timestamp", "webhook-signature", "content-type",
                              "content-length", "host", "transfer-encoding", "connection", "user-agent"})
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32

# Seconds before attempt 2, 3, ...: about a day in all (Standard Webhooks' suggestion), each with jitter.
DEFAULT_SCHEDULE: tuple[float, ...] = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
JITTER = 0.2  # +- share of each delay

DEVELOPMENT = "development"
PRODUCTION = "production"


# --- event types -------------------------------------------------------------------------------

def matches(pattern: str, event_type: str) -> bool:
    """`*` every type, `message.*` every type of a resource, or the exact type."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def check_event_types(patterns: Sequence[str], field_name: str = "webhook.event_types") -> list[FieldViolation]:
    problems = []
    if not patterns:
        problems.append(FieldViolation(field_name, "at least one event type, e.g. `campaign.scheduled` or `*`"))
    if len(patterns) > MAX_EVENT_TYPES:
        problems.append(FieldViolation(field_name, f"at most {MAX_EVENT_TYPES} event types"))
    resources = {t.split(".")[0] for t in EVENT_TYPES}
    for i, pattern in enumerate(patterns):
        known = (pattern == "*" or pattern in EVENT_TYPES
                 or (pattern.endswith(".*") and pattern[:-2] in resources))
        if not known:
            problems.append(FieldViolation(f"{field_name}[{i}]", f"unknown event type {pattern!r}; one of * "
                                           f"{' '.join(sorted(EVENT_TYPES))} or `<resource>.*`"))
    return problems


def _plain(value: Any) -> Any:
    """An Avro-decoded value as JSON-ready data."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def rfc3339(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class PlatformEvent:
    """One bus event translated for webhooks: its public type and the `data` object."""

    event_id: str
    workspace: str
    type: str
    time: datetime
    data: dict


def _occurred(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):  # epoch microseconds or milliseconds
        return datetime.fromtimestamp(value / (1_000_000 if value > 10 ** 14 else 1000), UTC)
    return datetime.now(UTC)


def _subject(bus_type: str, workspace: str, aggregate: str) -> dict:
    """The resource the event is about, as a resource name where it is known."""
    if not aggregate:
        return {}
    if bus_type.startswith("campaign_") and "/" not in aggregate:
        return {"campaign": f"workspaces/{workspace}/campaigns/{aggregate}"}
    if bus_type.startswith("profile_") and "/" not in aggregate:
        return {"profile": f"workspaces/{workspace}/profiles/{aggregate}"}
    if bus_type.startswith("message_"):
        return {"message": aggregate}
    return {}


def from_bus(envelope: Mapping[str, Any]) -> PlatformEvent | None:
    """The webhook event for a bus event, or None when no webhook type maps to it."""
    public = BY_BUS_TYPE.get(str(envelope.get("event_type", "")))
    if public is None:
        return None
    workspace = str(envelope.get("workspace", ""))
    payload = envelope.get("payload")
    if isinstance(payload, tuple) and len(payload) == 2:  # (record name, value) from some Avro readers
        payload = payload[1]
    data = {"workspace": f"workspaces/{workspace}"}
    data.update(_subject(envelope["event_type"], workspace, str(envelope.get("aggregate_id") or "")))
    data.update(_plain(payload) if isinstance(payload, Mapping) else {})
    return PlatformEvent(str(envelope["event_id"]), workspace, public, _occurred(envelope.get("occurred_at")), data)


def keyed_event_id(idempotency_key: str) -> str:
    """The event id of an event queued by a caller's idempotency key (DeliverWebhookEvent): the same for the
    same key, at most 64 characters (the delivery log's event_id), never one of the bus's event ids."""
    return "key-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:56]


def payload(event_type: str, time: datetime, data: Mapping[str, Any]) -> bytes:
    """The body Standard Webhooks describes: `{"type", "timestamp", "data"}`, compact JSON."""
    return json.dumps({"type": event_type, "timestamp": rfc3339(time), "data": data},
                      separators=(",", ":"), sort_keys=True, default=str).encode()


# --- secrets and signatures --------------------------------------------------------------------

def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key of a `whsec_<base64>` secret; ValueError when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("must start with whsec_")
    key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    if not 24 <= len(key) <= 64:
        raise ValueError("must hold 24 to 64 bytes of base64")
    return key


def check_secret(secret: str, field_name: str = "webhook.signing_secret") -> list[FieldViolation]:
    try:
        secret_bytes(secret)
    except ValueError as error:
        return [FieldViolation(field_name, f"a secret in the form whsec_<base64>: {error}")]
    return []


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per valid secret (both during a rotation's overlap)."""
    return " ".join(sign(s, message_id, timestamp, body) for s in secrets_)


def headers(secrets_: Iterable[str], message_id: str, timestamp: int, body: bytes,
            extra: Mapping[str, str] | None = None) -> dict[str, str]:
    result = dict(extra or {})
    result.update({"content-type": "application/json", "webhook-id": message_id,
                   "webhook-timestamp": str(timestamp),
                   "webhook-signature": signature_header(secrets_, message_id, timestamp, body)})
    return result


# --- retries ------------------------------------------------------------------------------------

def retry_delay(failures: int, schedule: Sequence[float] = DEFAULT_SCHEDULE,
                rand: Callable[[], float] = random.random) -> timedelta | None:
    """The wait after the `failures`-th failed attempt in a row (1 = the first), with jitter;
    None when the schedule is exhausted (the delivery is dead-lettered)."""
    if failures < 1 or failures > len(schedule):
        return None
    base = schedule[failures - 1]
    return timedelta(seconds=base * (1 + JITTER * (2 * rand() - 1)))


def parse_schedule(text: str) -> tuple[float, ...]:
    """`5,300,1800` -> (5.0, 300.0, 1800.0); ValueError when not positive numbers."""
    values = tuple(float(part) for part in text.split(",") if part.strip())
    if not values or any(v <= 0 for v in values):
        raise ValueError("a comma-separated list of positive seconds")
    return values


# --- URLs (server-side request forgery) -------------------------------------------------------

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def check_uri(uri: str, mode: str, field_name: str = "webhook.uri") -> list[FieldViolation]:
    """The rules of the URL itself: https (http only to localhost in development), a host,
    no credentials; in production no IP literal outside public ranges and no localhost."""
    if not uri:
        return [FieldViolation(field_name, "required: the https URL that receives the events")]
    if len(uri) > MAX_URI or not uri.isprintable() or " " in uri:
        return [FieldViolation(field_name, f"at most {MAX_URI} characters, no spaces or control characters")]
    try:
        parts = urlsplit(uri)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as error:
        return [FieldViolation(field_name, f"not a URL: {error}")]
    if not host:
        return [FieldViolation(field_name, "the URL has no host")]
    if parts.username or parts.password:
        return [FieldViolation(field_name, "credentials in the URL are not allowed; use headers")]
    if parts.fragment:
        return [FieldViolation(field_name, "the URL may not have a #fragment")]
    local = host in _LOCAL_HOSTS
    if parts.scheme == "http":
        if not (mode == DEVELOPMENT and local):
            return [FieldViolation(field_name, "must be https (http only to localhost in development mode)")]
    elif parts.scheme != "https":
        return [FieldViolation(field_name, "must be an https URL")]
    if mode == PRODUCTION:
        if local or host.endswith(".localhost") or host.endswith(".local") or host.endswith(".internal"):
            return [FieldViolation(field_name, f"{host} is a local name; production mode only sends to public "
                                               "addresses")]
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return []
        reason = forbidden_address(address)
        if reason:
            return [FieldViolation(field_name, f"{host} is {reason}; production mode only sends to public "
                                               "addresses")]
    return []


METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
                      ipaddress.ip_address("100.100.100.200")}


def forbidden_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Why a resolved address may not be called in production mode, or ""."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private or address.is_reserved or address.is_multicast or address.is_unspecified:
        return "a private or reserved address"
    if isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"):
        return "a shared (carrier-grade NAT) address"
    return ""


def check_resolved(host: str, addresses: Iterable[str], mode: str,
                   field_name: str = "webhook.uri") -> list[FieldViolation]:
    """In production mode, every address the host resolves to must be public (DNS rebinding:
    checked again before each delivery)."""
    if mode != PRODUCTION:
        return []
    for text in addresses:
        reason = forbidden_address(ipaddress.ip_address(text.split("%")[0]))
        if reason:
            return [FieldViolation(field_name, f"{host} resolves to {text}, {reason}; production mode only sends "
                                               "to public addresses")]
    return []


# --- webhooks -----------------------------------------------------------------------------------

ACTIVE, PAUSED, FAILING = "ACTIVE", "PAUSED", "FAILING"
PENDING, SUCCEEDED, FAILED = "PENDING", "SUCCEEDED", "FAILED"


@dataclass(frozen=True)
class Webhook:
    workspace: str
    id: str
    display_name: str
    uri: str
    event_types: tuple[str, ...]
    headers: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    state: str = ACTIVE
    state_message: str = ""
    consecutive_failures: int = 0
    last_success_time: datetime | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None
    version: int = 1
    # The signing secrets, plain, only in memory: the store keeps them encrypted.
    secret: str = field(default="", repr=False)
    previous_secret: str = field(default="", repr=False)
    previous_secret_expire_time: datetime | None = None
    request_id: str = ""

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/webhooks/{self.id}"

    @property
    def etag(self) -> str:
        return f"W/\"{self.version}\""

    def wants(self, event_type: str) -> bool:
        return any(matches(p, event_type) for p in self.event_types)

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, and the previous one while its overlap lasts."""
        result = [self.secret]
        if self.previous_secret and self.previous_secret_expire_time and now < self.previous_secret_expire_time:
            result.append(self.previous_secret)
        return result

    def changed(self, now: datetime, **values) -> Webhook:
        return replace(self, update_time=now, version=self.version + 1, **values)

    def pause(self, now: datetime) -> Webhook:
        if self.state == PAUSED:
            return self
        return self.changed(now, state=PAUSED, state_message="")

    def resume(self, now: datetime) -> Webhook:
        if self.state == ACTIVE:
            return self
        return self.changed(now, state=ACTIVE, state_message="", consecutive_failures=0)

    def rotate(self, secret: str, now: datetime, overlap: timedelta) -> Webhook:
        return self.changed(now, secret=secret, previous_secret=self.secret,
                            previous_secret_expire_time=now + overlap)

    def check_etag(self, etag: str) -> None:
        from svc_kit.errors import Aborted

        if etag and etag != self.etag:
            raise Aborted(f"{self.name} changed since etag {etag} (now {self.etag}); read it again")


def check_webhook(display_name: str, uri: str, event_types: Sequence[str], extra_headers: Mapping[str, str],
                  labels: Mapping[str, str], mode: str, webhook_id: str = "") -> None:
    """InvalidArgument with every problem of a webhook's writable fields."""
    problems: list[FieldViolation] = []
    if not 1 <= len(display_name) <= 200 or not display_name.isprintable():
        problems.append(FieldViolation("webhook.display_name", "required, 1 to 200 printable characters"))
    problems += check_uri(uri, mode)
    problems += check_event_types(event_types)
    if len(extra_headers) > MAX_HEADERS:
        problems.append(FieldViolation("webhook.headers", f"at most {MAX_HEADERS} headers"))
    for key, value in extra_headers.items():
        if not _HEADER_NAME.match(key) or key.lower() in RESERVED_HEADERS:
            problems.append(FieldViolation(f"webhook.headers[{key}]", "a header name of letters, digits and -, "
                                           "not one the platform sets (webhook-*, content-type, host...)"))
        elif len(value) > 1024 or not value.isprintable():
            problems.append(FieldViolation(f"webhook.headers[{key}]", "at most 1,024 characters, one line"))
    for key, value in labels.items():
        if not _LABEL_KEY.match(key) or len(value) > 63 or not value.isprintable():
            problems.append(FieldViolation(f"webhook.labels[{key}]", "key [a-z][a-z0-9_-]* up to 63 characters, "
                                           "value up to 63"))
    if webhook_id and not _ID.match(webhook_id):
        problems.append(FieldViolation("webhook_id", "1-63 characters [a-z][a-z0-9-]*"))
    if problems:
        raise InvalidArgument(problems)


# --- deliveries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    workspace: str
    webhook_id: str
    id: str                    # also the webhook-id header: the same on every attempt and on replay
    event_id: str
    event_type: str
    body: bytes
    state: str = PENDING
    attempt_count: int = 0
    failures: int = 0          # failed attempts in a row since creation or replay (drives the schedule)
    response_code: int = 0
    error: str = ""
    latency_ms: int = 0
    create_time: datetime | None = None
    last_attempt_time: datetime | None = None
    next_attempt_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/webhooks/{self.webhook_id}/deliveries/{self.id}"


@dataclass(frozen=True)
class Attempt:
    """How one POST went."""

    response_code: int
    latency_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.response_code < 300 and not self.error


def after_attempt(delivery: Delivery, attempt: Attempt, now: datetime, schedule: Sequence[float],
                  rand: Callable[[], float] = random.random) -> Delivery:
    """The delivery once an attempt is over: SUCCEEDED, PENDING with its next time, or FAILED
    when the schedule is exhausted."""
    common = dict(attempt_count=delivery.attempt_count + 1, response_code=attempt.response_code,
                  latency_ms=attempt.latency_ms, last_attempt_time=now)
    if attempt.ok:
        return replace(delivery, state=SUCCEEDED, error="", failures=0, next_attempt_time=None, **common)
    error = attempt.error or f"HTTP {attempt.response_code}"
    failures = delivery.failures + 1
    wait = retry_delay(failures, schedule, rand)
    if wait is None:
        return replace(delivery, state=FAILED, failures=failures, next_attempt_time=None,
                       error=f"{error} (gave up after {failures} attempts)", **common)
    return replace(delivery, state=PENDING, failures=failures, error=error, next_attempt_time=now + wait,
                   **common)


def replayed(delivery: Delivery, now: datetime) -> Delivery:
    """A finished delivery sent again, with the same webhook-id and body, on a fresh schedule."""
    if delivery.state == PENDING:
        raise FailedPrecondition(f"{delivery.name} is still pending; it is retried on its own",
                                 [FieldViolation("name", "only a SUCCEEDED or FAILED delivery can be replayed")])
    return replace(delivery, state=PENDING, failures=0, next_attempt_time=now, error="")


def check_parent_name(name: str, field_name: str = "name") -> tuple[str, str, str]:
    """`workspaces/{w}/webhooks/{h}/deliveries/{d}` -> (w, h, d)."""
    parts = name.split("/")
    if len(parts) != 6 or parts[0] != "workspaces" or parts[2] != "webhooks" or parts[4] != "deliveries" \
            or not all(parts[1::2]):
        raise InvalidArgument(FieldViolation(field_name, "workspaces/{workspace}/webhooks/{webhook}/deliveries/"
                                                         "{delivery}"))
    return parts[1], parts[3], parts[5]
