"""Protobuf messages to domain values and back. Input problems become field
violations named by their path in the request."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from google.protobuf import json_format, timestamp_pb2
from google.type import dayofweek_pb2, money_pb2, timeofday_pb2

from marketing.common.v1 import message_content_pb2
from marketing.notify.v1 import inbox_pb2, message_pb2, notify_service_pb2, notify_settings_pb2, provider_pb2
from svc_kit.errors import FieldViolation, InvalidArgument, ServiceError
from svc_kit.proto_enums import channel_from_proto, channel_proto_names, channel_to_proto

from svc_notify.adapters.content_proto import content_from_proto, content_to_proto, in_app_to_proto
from svc_notify.domain.inbox import InboxItem, InboxSummary
from svc_notify.domain.model import Category, Delivery, Message, TemplateSource
from svc_notify.domain.pacing import FrequencyCap, QuietHours
from svc_notify.domain.providers import (DomainRateLimit, FcmConfig, Provider, RateLimit, SmtpConfig, TwilioConfig,
                                        UnitCost)
from svc_notify.domain.settings import NotifySettings
from svc_notify.domain.validation import profile_id

_CATEGORY_IN = {message_content_pb2.MESSAGE_CATEGORY_UNSPECIFIED: Category.MARKETING,
                message_content_pb2.MESSAGE_CATEGORY_MARKETING: Category.MARKETING,
                message_content_pb2.MESSAGE_CATEGORY_TRANSACTIONAL: Category.TRANSACTIONAL}
_CATEGORY_OUT = {Category.MARKETING: message_content_pb2.MESSAGE_CATEGORY_MARKETING,
                 Category.TRANSACTIONAL: message_content_pb2.MESSAGE_CATEGORY_TRANSACTIONAL}
_SECURITY_IN = {provider_pb2.SmtpConfig.SECURITY_UNSPECIFIED: "STARTTLS",
                provider_pb2.SmtpConfig.SECURITY_NONE: "NONE",
                provider_pb2.SmtpConfig.SECURITY_STARTTLS: "STARTTLS",
                provider_pb2.SmtpConfig.SECURITY_TLS: "TLS"}
_SECURITY_OUT = {"NONE": provider_pb2.SmtpConfig.SECURITY_NONE, "STARTTLS": provider_pb2.SmtpConfig.SECURITY_STARTTLS,
                 "TLS": provider_pb2.SmtpConfig.SECURITY_TLS}


def _ts(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def instant(stamp: timestamp_pb2.Timestamp, field: str) -> datetime:
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument(FieldViolation(field, "is not a valid timestamp")) from None


# -- messages ------------------------------------------------------------------------------------------


def message_from_proto(workspace: str, m: message_pb2.Message, prefix: str) -> Message | ServiceError:
    """The draft of a message a caller sends (validated later), or the error its
    fields make impossible to read."""
    problems: list[FieldViolation] = []
    channel = channel_from_proto(m.channel)
    category = _CATEGORY_IN.get(m.category)
    if category is None:
        problems.append(FieldViolation(prefix + "category", "MESSAGE_CATEGORY_MARKETING or "
                                                            "MESSAGE_CATEGORY_TRANSACTIONAL"))
    recipient = ""
    if m.recipient:
        recipient = profile_id(m.recipient, workspace) or ""
        if not recipient:
            problems.append(FieldViolation(prefix + "recipient", f"{m.recipient!r} is not a profile of workspace "
                                                                 f"{workspace!r} (workspaces/{workspace}/profiles/"
                                                                 "{profile})"))
    template, content = None, None
    source = m.WhichOneof("source")
    if source == "template":
        data = None
        if m.template.HasField("data"):
            data = json_format.MessageToDict(m.template.data)
        template = TemplateSource(m.template.template, m.template.variant, data)
    elif source == "content":
        content = content_from_proto(m.content)
        if content is None:
            problems.append(FieldViolation(prefix + "content", "set one of email, sms, push or in_app"))
    send_time = None
    if m.HasField("send_time"):
        try:
            send_time = m.send_time.ToDatetime(tzinfo=UTC)
        except (ValueError, OverflowError):
            problems.append(FieldViolation(prefix + "send_time", "is not a valid timestamp"))
    if problems:
        return InvalidArgument(problems)
    draft = Message(workspace, "", channel, recipient, m.idempotency_key, category=category, campaign=m.campaign,
                    template=template, content=content, send_time=send_time, labels=dict(m.labels))
    return draft


def batch_drafts(workspace: str, request: notify_service_pb2.BatchSendMessagesRequest) -> list:
    """Each request's draft message, or the error that keeps it out of the batch."""
    # 1 to MAX_BATCH requests: a rule of notify_service.proto (svc_kit.validation)
    drafts: list = []
    for i, item in enumerate(request.requests):
        if item.parent and item.parent != request.parent:
            drafts.append(InvalidArgument(FieldViolation(f"requests[{i}].parent", "must be empty or equal the "
                                                                                  "batch's parent")))
        elif not item.HasField("message"):
            drafts.append(InvalidArgument(FieldViolation(f"requests[{i}].message", "required")))
        else:
            drafts.append(message_from_proto(workspace, item.message, f"requests[{i}].message."))
    return drafts


def message_to_proto(m: Message) -> message_pb2.Message:
    out = message_pb2.Message(
        name=m.name, channel=channel_to_proto(m.channel), recipient=m.recipient_name, idempotency_key=m.idempotency_key,
        category=_CATEGORY_OUT[m.category], campaign=m.campaign,
        state=message_pb2.Message.State.Value(f"STATE_{m.state.value}"), state_reason=m.state_reason,
        next_attempt_time=_ts(m.next_attempt_time), attempt_count=m.attempt_count,
        provider=f"workspaces/{m.workspace}/providers/{m.provider}" if m.provider else "",
        provider_message_id=m.provider_message_id, template_version=m.template_version, variant=m.variant,
        labels=m.labels, create_time=_ts(m.create_time), update_time=_ts(m.update_time),
        send_time=_ts(m.send_time), sent_time=_ts(m.sent_time), deliver_time=_ts(m.deliver_time),
        first_open_time=_ts(m.first_open_time), first_click_time=_ts(m.first_click_time), etag=m.etag)
    if m.template is not None:
        out.template.template = m.template.template
        out.template.variant = m.template.variant
        if m.template.data is not None:
            json_format.ParseDict(m.template.data, out.template.data)
    elif m.content is not None:
        out.content.CopyFrom(content_to_proto(m.content))
    return out


def delivery_to_proto(d: Delivery) -> message_pb2.Delivery:
    return message_pb2.Delivery(
        name=d.name, attempt=d.attempt,
        provider=f"workspaces/{d.workspace}/providers/{d.provider}" if d.provider else "",
        state=message_pb2.Delivery.State.Value(f"STATE_{d.state.value}"), address=d.address,
        provider_message_id=d.provider_message_id, provider_response=d.provider_response,
        bounce_type=message_pb2.Delivery.BounceType.Value(f"BOUNCE_TYPE_{d.bounce_type.value}")
        if d.bounce_type else 0,
        start_time=_ts(d.start_time), end_time=_ts(d.end_time), report_time=_ts(d.report_time))


# -- providers -----------------------------------------------------------------------------------------


def _rate_from_proto(r: provider_pb2.RateLimit) -> RateLimit:
    return RateLimit(r.messages_per_second, r.burst)


def provider_from_proto(workspace: str, provider_id: str, p: provider_pb2.Provider) -> Provider:
    kind = p.WhichOneof("config")
    config = None
    if kind == "smtp":
        s = p.smtp
        config = SmtpConfig(s.host, s.port, _SECURITY_IN.get(s.security, "?"), s.username, s.password_secret,
                            s.from_address, s.from_name, s.max_connections)
    elif kind == "twilio":
        t = p.twilio
        config = TwilioConfig(t.base_url, t.account_sid, t.auth_token_secret, t.from_number, t.messaging_service_sid)
    elif kind == "fcm":
        f = p.fcm
        config = FcmConfig(f.base_url, f.project_id, f.service_account_secret)
    return Provider(
        workspace, provider_id, p.display_name, channel_from_proto(p.channel), config, p.priority,
        _rate_from_proto(p.rate_limit) if p.HasField("rate_limit") else None,
        tuple(DomainRateLimit(d.domain, _rate_from_proto(d.rate_limit)) for d in p.domain_rate_limits),
        p.disabled, unit_cost=_unit_cost_from_proto(p.unit_cost) if p.HasField("unit_cost") else None)


def _unit_cost_from_proto(m: money_pb2.Money) -> UnitCost:
    return UnitCost(m.units * 1_000_000 + m.nanos // 1000, m.currency_code)


def _unit_cost_to_proto(c: UnitCost) -> money_pb2.Money:
    units, micros = divmod(c.micros, 1_000_000)
    return money_pb2.Money(currency_code=c.currency, units=units, nanos=micros * 1000)


def _rate_to_proto(r: RateLimit) -> provider_pb2.RateLimit:
    return provider_pb2.RateLimit(messages_per_second=r.messages_per_second, burst=r.burst)


def provider_to_proto(p: Provider) -> provider_pb2.Provider:
    out = provider_pb2.Provider(
        name=p.name, display_name=p.display_name, channel=channel_to_proto(p.channel), priority=p.priority,
        domain_rate_limits=[provider_pb2.DomainRateLimit(domain=d.domain, rate_limit=_rate_to_proto(d.rate_limit))
                            for d in p.domain_rate_limits],
        disabled=p.disabled, create_time=_ts(p.create_time), update_time=_ts(p.update_time), etag=p.etag)
    if p.rate_limit is not None:
        out.rate_limit.CopyFrom(_rate_to_proto(p.rate_limit))
    if p.unit_cost is not None:
        out.unit_cost.CopyFrom(_unit_cost_to_proto(p.unit_cost))
    c = p.config
    if isinstance(c, SmtpConfig):
        out.smtp.CopyFrom(provider_pb2.SmtpConfig(
            host=c.host, port=c.port, security=_SECURITY_OUT[c.security], username=c.username,
            password_secret=c.password_secret, from_address=c.from_address, from_name=c.from_name,
            max_connections=c.max_connections))
    elif isinstance(c, TwilioConfig):
        out.twilio.CopyFrom(provider_pb2.TwilioConfig(
            base_url=c.base_url, account_sid=c.account_sid, auth_token_secret=c.auth_token_secret,
            from_number=c.from_number, messaging_service_sid=c.messaging_service_sid))
    elif isinstance(c, FcmConfig):
        out.fcm.CopyFrom(provider_pb2.FcmConfig(base_url=c.base_url, project_id=c.project_id,
                                                service_account_secret=c.service_account_secret))
    return out


# -- sending rules -------------------------------------------------------------------------------------


def _time_of_day(t: timeofday_pb2.TimeOfDay, field: str, problems: list[FieldViolation]) -> time:
    if not (0 <= t.hours <= 23 and 0 <= t.minutes <= 59 and 0 <= t.seconds <= 59 and 0 <= t.nanos < 10**9):
        problems.append(FieldViolation(field, "a time of day from 00:00 to 23:59:59"))
        return time(0)
    return time(t.hours, t.minutes, t.seconds)


def settings_from_proto(workspace: str, s: notify_settings_pb2.NotifySettings) -> NotifySettings:
    problems: list[FieldViolation] = []
    quiet = []
    for i, q in enumerate(s.quiet_hours):
        where = f"notify_settings.quiet_hours[{i}]."
        if not q.HasField("start_time") or not q.HasField("end_time"):
            problems.append(FieldViolation(where + "start_time", "start_time and end_time are required"))
        start = _time_of_day(q.start_time, where + "start_time", problems)
        end = _time_of_day(q.end_time, where + "end_time", problems)
        days = set()
        for day in q.days:
            if day == dayofweek_pb2.DAY_OF_WEEK_UNSPECIFIED or day not in dayofweek_pb2.DayOfWeek.values():
                problems.append(FieldViolation(where + "days", "MONDAY to SUNDAY"))
            else:
                days.add(int(day))  # google.type.DayOfWeek numbers Monday 1 .. Sunday 7, as ISO does
        channels = set()
        for channel in q.channels:
            found = channel_from_proto(channel)
            if found is None:
                problems.append(FieldViolation(where + "channels", f"one of {channel_proto_names()}"))
            else:
                channels.add(found)
        quiet.append(QuietHours(start, end, frozenset(days), frozenset(channels)))
    caps = []
    for i, c in enumerate(s.frequency_caps):
        channel = channel_from_proto(c.channel) if c.channel else None
        if c.channel and channel is None:
            problems.append(FieldViolation(f"notify_settings.frequency_caps[{i}].channel",
                                           f"one of {channel_proto_names()}, or unset for all"))
        caps.append(FrequencyCap(c.max_messages, timedelta(seconds=c.period.seconds, microseconds=c.period.nanos // 1000),
                                 channel))
    if problems:
        raise InvalidArgument(problems)
    return NotifySettings(workspace, tuple(quiet), tuple(caps), s.default_time_zone)


def settings_to_proto(s: NotifySettings) -> notify_settings_pb2.NotifySettings:
    out = notify_settings_pb2.NotifySettings(name=s.name, default_time_zone=s.default_time_zone,
                                             update_time=_ts(s.update_time), etag=s.etag)
    for q in s.quiet_hours:
        out.quiet_hours.append(notify_settings_pb2.QuietHours(
            start_time=timeofday_pb2.TimeOfDay(hours=q.start.hour, minutes=q.start.minute, seconds=q.start.second),
            end_time=timeofday_pb2.TimeOfDay(hours=q.end.hour, minutes=q.end.minute, seconds=q.end.second),
            days=sorted(q.days), channels=sorted(channel_to_proto(c) for c in q.channels)))
    for c in s.frequency_caps:
        cap = notify_settings_pb2.FrequencyCap(channel=channel_to_proto(c.channel) if c.channel else 0,
                                               max_messages=c.max_messages)
        cap.period.FromTimedelta(c.period)
        out.frequency_caps.append(cap)
    return out


# -- inbox ---------------------------------------------------------------------------------------------


def inbox_to_proto(s: InboxSummary) -> inbox_pb2.Inbox:
    return inbox_pb2.Inbox(name=f"workspaces/{s.workspace}/inboxes/{s.inbox}",
                           profile=f"workspaces/{s.workspace}/profiles/{s.inbox}", unread_count=s.unread_count,
                           total_count=s.total_count, update_time=_ts(s.update_time))


def inbox_item_to_proto(i: InboxItem) -> inbox_pb2.InboxItem:
    return inbox_pb2.InboxItem(
        name=i.name, message=f"workspaces/{i.workspace}/messages/{i.message_id}", content=in_app_to_proto(i.content),
        campaign=i.campaign, read=i.read, create_time=_ts(i.create_time), read_time=_ts(i.read_time),
        expire_time=_ts(i.expire_time))
