"""Domain values to and from the JSON columns."""

from __future__ import annotations

from datetime import time, timedelta
from svc_kit.channels import Channel

from svc_notify.domain.model import Content, EmailContent, InAppContent, PushContent, SmsContent, TemplateSource
from svc_notify.domain.pacing import FrequencyCap, QuietHours
from svc_notify.domain.providers import (DomainRateLimit, FcmConfig, ProviderConfig, RateLimit, SmtpConfig, UnitCost,
                                         TwilioConfig)


def content_to_json(content: Content | None) -> dict | None:
    if content is None:
        return None
    if isinstance(content, EmailContent):
        return {"email": {"subject": content.subject, "preheader": content.preheader, "html": content.html,
                          "text": content.text, "from_name": content.from_name,
                          "from_address": content.from_address, "reply_to": content.reply_to,
                          "headers": [list(h) for h in content.headers]}}
    if isinstance(content, SmsContent):
        return {"sms": {"body": content.body}}
    if isinstance(content, PushContent):
        return {"push": {"title": content.title, "body": content.body, "data": dict(content.data),
                         "image_url": content.image_url, "deep_link": content.deep_link}}
    return {"in_app": in_app_to_json(content)}


def in_app_to_json(content: InAppContent) -> dict:
    return {"title": content.title, "body": content.body, "image_url": content.image_url,
            "actions": [list(a) for a in content.actions], "data": dict(content.data)}


def in_app_from_json(d: dict) -> InAppContent:
    return InAppContent(d.get("title", ""), d.get("body", ""), d.get("image_url", ""),
                        tuple((a[0], a[1]) for a in d.get("actions", [])), dict(d.get("data", {})))


def content_from_json(d: dict | None) -> Content | None:
    if not d:
        return None
    if "email" in d:
        e = d["email"]
        return EmailContent(e.get("subject", ""), e.get("preheader", ""), e.get("html", ""), e.get("text", ""),
                            e.get("from_name", ""), e.get("from_address", ""), e.get("reply_to", ""),
                            tuple((h[0], h[1]) for h in e.get("headers", [])))
    if "sms" in d:
        return SmsContent(d["sms"].get("body", ""))
    if "push" in d:
        p = d["push"]
        return PushContent(p.get("title", ""), p.get("body", ""), dict(p.get("data", {})), p.get("image_url", ""),
                           p.get("deep_link", ""))
    return in_app_from_json(d["in_app"])


def template_to_json(t: TemplateSource | None) -> dict | None:
    return None if t is None else {"template": t.template, "variant": t.variant, "data": t.data}


def template_from_json(d: dict | None) -> TemplateSource | None:
    return None if not d else TemplateSource(d["template"], d.get("variant", ""), d.get("data"))


def rate_to_json(r: RateLimit | None) -> dict | None:
    return None if r is None else {"messages_per_second": r.messages_per_second, "burst": r.burst}


def rate_from_json(d: dict | None) -> RateLimit | None:
    return None if d is None else RateLimit(float(d["messages_per_second"]), int(d["burst"]))


def domain_limits_to_json(limits: tuple[DomainRateLimit, ...]) -> list:
    return [{"domain": d.domain, "rate_limit": rate_to_json(d.rate_limit)} for d in limits]


def domain_limits_from_json(items: list) -> tuple[DomainRateLimit, ...]:
    return tuple(DomainRateLimit(d["domain"], rate_from_json(d["rate_limit"])) for d in items)


def config_to_json(c: ProviderConfig) -> dict:
    return dict(vars(c))


def config_from_json(kind: str, d: dict) -> ProviderConfig:
    cls = {"smtp": SmtpConfig, "twilio": TwilioConfig, "fcm": FcmConfig}[kind]
    return cls(**d)


def _time(value: time) -> str:
    return value.strftime("%H:%M:%S")


def quiet_to_json(rules: tuple[QuietHours, ...]) -> list:
    return [{"start": _time(q.start), "end": _time(q.end), "days": sorted(q.days),
             "channels": sorted(c.value for c in q.channels)} for q in rules]


def quiet_from_json(items: list) -> tuple[QuietHours, ...]:
    return tuple(QuietHours(time.fromisoformat(q["start"]), time.fromisoformat(q["end"]), frozenset(q["days"]),
                            frozenset(Channel(c) for c in q["channels"])) for q in items)


def caps_to_json(caps: tuple[FrequencyCap, ...]) -> list:
    return [{"max_messages": c.max_messages, "period_seconds": c.period.total_seconds(),
             "channel": c.channel.value if c.channel else None} for c in caps]


def caps_from_json(items: list) -> tuple[FrequencyCap, ...]:
    return tuple(FrequencyCap(c["max_messages"], timedelta(seconds=c["period_seconds"]),
                              Channel(c["channel"]) if c["channel"] else None) for c in items)


def unit_cost_to_json(c: UnitCost | None) -> dict | None:
    return None if c is None else {"micros": c.micros, "currency": c.currency}


def unit_cost_from_json(d: dict | None) -> UnitCost | None:
    return None if not d else UnitCost(int(d["micros"]), str(d["currency"]))
