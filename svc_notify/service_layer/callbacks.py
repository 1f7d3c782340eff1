"""Provider status callbacks: delivery receipts, bounces and complaints, in
two formats, verified, applied to the message and published (a hard bounce or
a complaint becomes a suppression in the audience service through its event).

JSON (the local sink, and any provider that can post it):

    POST /v1/workspaces/{w}/providers/{p}:callback
    {"events": [{"message": "workspaces/{w}/messages/{m}"   (or "provider_message_id": "..."),
                 "type": "delivered" | "bounced" | "complained",
                 "bounce_type": "hard" | "soft", "detail": "550 5.1.1 user unknown"}]}

Twilio-style status callback (form): MessageSid, MessageStatus (delivered,
undelivered, failed, ...), ErrorCode.

Every callback, of every provider and in either format, is signed:
`X-Notify-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<provider
name>." + body)>` (`svc_kit.signing.callback_signature`), and refused when
unsigned, wrongly signed, or signed further than MKT_NOTIFY_CALLBACK_TOLERANCE_SECONDS
(5 minutes) from now. The secret is the one named `<provider id>-callback`
(MKT_SECRET_<NAME> or the secrets folder; `default-smtp-callback` for the
default SMTP server), else the provider's own credential (SMTP password, Twilio
auth token, FCM secret); a value of two lines is the current secret and the
previous one (a rotation). A provider with neither has its callbacks refused."""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from svc_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Unimplemented
from svc_kit.signing import CALLBACK_HEADER, CALLBACK_TOLERANCE, Keyring, SignatureError, verify_callback

from svc_notify.domain import events
from svc_notify.domain.model import BounceType, DeliveryState, Message, State
from svc_notify.domain.providers import DEFAULT_PROVIDER_ID, Provider, SmtpConfig, default_provider
from svc_notify.service_layer.ports import Clock, DeliverySignals, NoSignals, Secrets
from svc_notify.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("svc_notify.callbacks")
MAX_EVENTS = 1000
DELIVERED, BOUNCED, COMPLAINED = "delivered", "bounced", "complained"
# Twilio error codes meaning the number cannot ever receive: a hard bounce.
TWILIO_HARD = frozenset({"21211", "21612", "21614", "30005", "30006"})
TWILIO_COMPLAINT = frozenset({"21610"})  # the recipient replied STOP


@dataclass(frozen=True)
class Report:
    reference: str  # our message name, or the provider's message id
    status: str  # delivered, bounced or complained
    bounce_type: BounceType | None = None
    detail: str = ""


def _bad(description: str) -> InvalidArgument:
    return InvalidArgument(FieldViolation("http_body", description))


def parse_json(body: bytes) -> list[Report]:
    try:
        document = json.loads(body or b"null")
    except ValueError:
        raise _bad("not JSON") from None
    items = document.get("events") if isinstance(document, dict) and "events" in document else [document]
    if not isinstance(items, list) or not items or len(items) > MAX_EVENTS:
        raise _bad(f'expected {{"events": [...]}} with 1 to {MAX_EVENTS:,} events')
    reports = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _bad(f"events[{i}] is not an object")
        reference = item.get("message") or item.get("provider_message_id") or ""
        kind = item.get("type", "")
        if not isinstance(reference, str) or not reference:
            raise _bad(f"events[{i}]: set message or provider_message_id")
        if kind not in (DELIVERED, BOUNCED, COMPLAINED):
            raise _bad(f"events[{i}].type: delivered, bounced or complained")
        bounce = None
        if kind == BOUNCED:
            raw = str(item.get("bounce_type", "hard")).upper()
            if raw not in ("HARD", "SOFT"):
                raise _bad(f"events[{i}].bounce_type: hard or soft")
            bounce = BounceType(raw)
        reports.append(Report(reference, kind, bounce, str(item.get("detail", ""))[:1000]))
    return reports


def parse_twilio(body: bytes) -> tuple[list[Report], dict[str, str]]:
    params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        raise _bad("a Twilio status callback carries MessageSid and MessageStatus")
    code = params.get("ErrorCode", "")
    detail = f"MessageStatus={status}" + (f" ErrorCode={code}" if code else "")
    if status in ("delivered", "read"):
        return [Report(sid, DELIVERED, None, detail)], params
    if status in ("undelivered", "failed"):
        if code in TWILIO_COMPLAINT:
            return [Report(sid, COMPLAINED, None, detail)], params
        return [Report(sid, BOUNCED, BounceType.HARD if code in TWILIO_HARD else BounceType.SOFT, detail)], params
    return [], params  # queued, sending, sent: nothing to record


def callback_secret_name(provider: Provider) -> str:
    return f"{provider.id}-callback"


def verify(name: str, keys: Keyring | None, headers: Mapping[str, str], body: bytes, now,
           tolerance: timedelta = CALLBACK_TOLERANCE) -> None:
    """Checks the callback's `X-Notify-Signature` with the provider's secret(s);
    an unsigned, wrongly signed or stale callback is refused."""
    if keys is None:
        raise FailedPrecondition(f"callbacks of {name} cannot be verified: it has no secret (set the secret named "
                                 f"`{name.rsplit('/', 1)[1]}-callback`); unsigned callbacks are refused",
                                 violation_type="CONFIGURATION")
    try:
        verify_callback(keys, name, body, headers.get(CALLBACK_HEADER, ""), now, tolerance)
    except SignatureError as error:
        raise InvalidArgument(FieldViolation(CALLBACK_HEADER, str(error))) from None


def parse(kind: str, content_type: str, body: bytes) -> tuple[list[Report], dict[str, str] | None]:
    if content_type.startswith("application/x-www-form-urlencoded"):
        if kind != "twilio":
            raise Unimplemented(f"form-encoded callbacks are Twilio-style; a {kind} provider posts JSON")
        return parse_twilio(body)
    return parse_json(body), None


def _find(uow: UnitOfWork, workspace: str, reference: str) -> Message | None:
    prefix = f"workspaces/{workspace}/messages/"
    if reference.startswith(prefix):
        return uow.messages.get(workspace, reference[len(prefix):])
    return uow.messages.find_by_provider_message_id(workspace, reference)


def apply(workspace: str, provider_id: str, reports: list[Report], uow: UnitOfWork, clock: Clock,
          signals: DeliverySignals | None = None, provider_kind: str = "") -> int:
    """Applies the reports to their messages; returns how many changed something.
    Unknown messages and repeated reports change nothing (providers retry callbacks).
    Each bounce is reported to `signals` (outcome bounced) once committed."""
    applied = 0
    bounced: list[str] = []  # channels of the messages that bounced
    with uow:
        for report in reports:
            now = clock()
            message = _find(uow, workspace, report.reference)
            if message is None or message.provider != provider_id:
                log.warning("callback for an unknown message", extra={"reference": report.reference,
                                                                      "provider": provider_id})
                continue
            delivery = uow.deliveries.latest(workspace, message.id)
            expected = message.version
            provider_name = f"workspaces/{workspace}/providers/{provider_id}"
            if report.status == DELIVERED:
                if message.state is not State.SENT:
                    continue
                message.mark_delivered(now, f"delivered ({report.detail})" if report.detail else "delivered")
                uow.record(events.event(events.DELIVERED, message, now, provider=provider_name,
                                        provider_message_id=message.provider_message_id))
                if delivery is not None:
                    delivery.state, delivery.report_time = DeliveryState.DELIVERED, now
            elif report.status == BOUNCED:
                if message.state not in (State.SENT, State.DELIVERED):
                    continue
                kind = report.bounce_type or BounceType.HARD
                message.mark_bounced(f"{kind.value.lower()} bounce: {report.detail}".rstrip(": "), now)
                bounced.append(message.channel.value.lower())
                uow.record(events.event(events.BOUNCED, message, now, bounce_type=kind.value,
                                        address=message.address, provider=provider_name, detail=report.detail))
                if delivery is not None:
                    delivery.state, delivery.bounce_type, delivery.report_time = DeliveryState.BOUNCED, kind, now
                    delivery.provider_response = f"{delivery.provider_response} | bounce: {report.detail}"[:4000]
            else:
                if delivery is not None and "| complaint" in delivery.provider_response:
                    continue
                uow.record(events.event(events.COMPLAINED, message, now, address=message.address,
                                        provider=provider_name, detail=report.detail))
                if delivery is not None:
                    delivery.report_time = now
                    delivery.provider_response = f"{delivery.provider_response} | complaint: {report.detail}"[:4000]
            if message.version != expected:
                uow.messages.save(message, expected)
            if delivery is not None:
                uow.deliveries.save(delivery)
            applied += 1
        uow.commit()
    for channel in bounced:
        (signals or NoSignals()).settled(channel, provider_kind or "unknown", "bounced", None)
    return applied


def receive(workspace: str, provider_id: str, content_type: str, body: bytes, headers: Mapping[str, str],
            uow: UnitOfWork, clock: Clock, secrets: Secrets, default_smtp: SmtpConfig | None,
            tolerance: timedelta = CALLBACK_TOLERANCE, signals: DeliverySignals | None = None) -> int:
    """A provider's status callback: its signature verified, parsed in the
    provider's format, its reports applied; returns how many changed something."""
    provider: Provider | None
    if provider_id == DEFAULT_PROVIDER_ID:
        provider = default_provider(workspace, default_smtp)
    else:
        with uow:
            provider = uow.providers.get(workspace, provider_id)
    if provider is None:
        raise NotFound(f"workspaces/{workspace}/providers/{provider_id}")
    secret = next(filter(None, (secrets.get(name) for name in (callback_secret_name(provider),
                                                                   *provider.secrets()))), None)
    verify(f"workspaces/{workspace}/providers/{provider_id}", Keyring.from_text(secret), headers, body, clock(),
           tolerance)
    reports, _ = parse(provider.kind, content_type, body)
    return apply(workspace, provider_id, reports, uow, clock, signals, provider.kind) if reports else 0
