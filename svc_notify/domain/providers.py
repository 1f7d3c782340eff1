"""A workspace's providers: how each channel reaches the world (SMTP, a
Twilio-style SMS API, an FCM-style push API), at what pace, with their
validation; and the default email provider of a workspace that has none."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Union

from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation

from svc_notify.domain.model import EtagChecked, etag_of

SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
                  r"|\[[0-9a-fA-F:.]+\]")
DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+")
EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+|[^@\s<>]+@localhost")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
ACCOUNT_SID = re.compile(r"[A-Za-z0-9]{2,64}")
PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
MAX_DISPLAY_NAME = 200
MAX_CONNECTIONS = 50
SECURITIES = ("STARTTLS", "NONE", "TLS")
DEFAULT_PROVIDER_ID = "default-smtp"


@dataclass(frozen=True)
class RateLimit:
    messages_per_second: float = 0.0  # 0: unlimited
    burst: int = 0  # 0: one second's worth

    @property
    def limited(self) -> bool:
        return self.messages_per_second > 0

    @property
    def bucket_size(self) -> int:
        return self.burst or max(1, math.ceil(self.messages_per_second))


@dataclass(frozen=True)
class UnitCost:
    """What one message sent through a provider costs, in millionths of `currency` (ISO 4217)."""

    micros: int
    currency: str


CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class DomainRateLimit:
    domain: str
    rate_limit: RateLimit


@dataclass(frozen=True)
class SmtpConfig:
    host: str = ""
    port: int = 0
    security: str = "STARTTLS"  # NONE, STARTTLS or TLS
    username: str = ""
    password_secret: str = ""
    from_address: str = ""
    from_name: str = ""
    max_connections: int = 0  # 0: the default, 4

    @property
    def connections(self) -> int:
        return self.max_connections or 4


@dataclass(frozen=True)
class TwilioConfig:
    base_url: str = ""
    account_sid: str = ""
    auth_token_secret: str = ""
    from_number: str = ""
    messaging_service_sid: str = ""


@dataclass(frozen=True)
class FcmConfig:
    base_url: str = ""
    project_id: str = ""
    service_account_secret: str = ""


ProviderConfig = Union[SmtpConfig, TwilioConfig, FcmConfig]
KIND_CHANNEL: dict[type, Channel] = {SmtpConfig: Channel.EMAIL, TwilioConfig: Channel.SMS, FcmConfig: Channel.PUSH}
KIND_NAME: dict[type, str] = {SmtpConfig: "smtp", TwilioConfig: "twilio", FcmConfig: "fcm"}


@dataclass
class Provider(EtagChecked):
    workspace: str
    id: str
    display_name: str
    channel: Channel | None
    config: ProviderConfig | None
    priority: int = 0
    rate_limit: RateLimit | None = None
    domain_rate_limits: tuple[DomainRateLimit, ...] = ()
    disabled: bool = False
    create_time: datetime | None = None
    update_time: datetime | None = None
    version: int = 1
    unit_cost: UnitCost | None = None  # None: free

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/providers/{self.id}"

    @property
    def etag(self) -> str:
        return etag_of(self.workspace, "providers", self.id, self.version)

    @property
    def kind(self) -> str:
        return KIND_NAME[type(self.config)] if self.config is not None else ""

    def secrets(self) -> tuple[str, ...]:
        c = self.config
        if isinstance(c, SmtpConfig):
            return (c.password_secret,) if c.password_secret else ()
        if isinstance(c, TwilioConfig):
            return (c.auth_token_secret,)
        if isinstance(c, FcmConfig):
            return (c.service_account_secret,)
        return ()

    def violations(self, prefix: str = "provider.") -> list[FieldViolation]:
        problems: list[FieldViolation] = []

        def bad(path: str, why: str) -> None:
            problems.append(FieldViolation(prefix + path, why))

        if not 1 <= len(self.display_name.strip()) <= MAX_DISPLAY_NAME:
            bad("display_name", f"required, 1 to {MAX_DISPLAY_NAME} characters")
        if self.channel is None:
            bad("channel", "required: CHANNEL_EMAIL, CHANNEL_SMS or CHANNEL_PUSH")
        elif self.channel is Channel.IN_APP:
            bad("channel", "in-app messages need no provider")
        if self.config is None:
            bad("config", "set exactly one of smtp, twilio or fcm")
        elif self.channel is not None and KIND_CHANNEL[type(self.config)] is not self.channel:
            bad(KIND_NAME[type(self.config)], f"a {KIND_NAME[type(self.config)]} provider serves "
                                              f"CHANNEL_{KIND_CHANNEL[type(self.config)].value}, "
                                              f"not CHANNEL_{self.channel.value}")
        if isinstance(self.config, SmtpConfig):
            problems += _smtp_violations(self.config, prefix + "smtp.")
        elif isinstance(self.config, TwilioConfig):
            problems += _twilio_violations(self.config, prefix + "twilio.")
        elif isinstance(self.config, FcmConfig):
            problems += _fcm_violations(self.config, prefix + "fcm.")
        if self.priority < 0:
            bad("priority", "must not be negative")
        if self.rate_limit is not None:
            problems += _rate_violations(self.rate_limit, prefix + "rate_limit.")
        if self.unit_cost is not None:
            if not CURRENCY.fullmatch(self.unit_cost.currency):
                bad("unit_cost.currency_code", "required: an ISO 4217 code such as EUR")
            if self.unit_cost.micros < 0:
                bad("unit_cost", "must not be negative")
        seen: set[str] = set()
        for i, limit in enumerate(self.domain_rate_limits):
            where = f"domain_rate_limits[{i}]."
            if self.channel is not Channel.EMAIL:
                bad(where + "domain", "domain rate limits apply to email providers only")
            if not DOMAIN.fullmatch(limit.domain):
                bad(where + "domain", f"{limit.domain!r} is not a lower-case domain such as gmail.com")
            elif limit.domain in seen:
                bad(where + "domain", f"{limit.domain} is limited twice")
            seen.add(limit.domain)
            if not limit.rate_limit.limited:
                bad(where + "rate_limit.messages_per_second", "must be positive")
            problems += _rate_violations(limit.rate_limit, prefix + where + "rate_limit.")
        return problems


def _url_violations(url: str, path: str) -> list[FieldViolation]:
    if url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
        return [FieldViolation(path, f"{url!r} is not an http(s)://host[:port][/path] URL")]
    return []


def _secret_violations(name: str, path: str, required: bool) -> list[FieldViolation]:
    if not name:
        return [FieldViolation(path, "required: the name of the secret (never the secret itself)")] if required else []
    if not SECRET_NAME.fullmatch(name):
        return [FieldViolation(path, "a secret name of 1-128 characters [A-Za-z0-9_.-]; the value lives in "
                                     "MKT_SECRET_<NAME> or the secrets folder")]
    return []


def _smtp_violations(c: SmtpConfig, p: str) -> list[FieldViolation]:
    problems = []
    if not HOST.fullmatch(c.host):
        problems.append(FieldViolation(p + "host", "required: a host name or address"))
    if not 1 <= c.port <= 65535:
        problems.append(FieldViolation(p + "port", "required: 1 to 65535"))
    if c.security not in SECURITIES:
        problems.append(FieldViolation(p + "security", "SECURITY_NONE, SECURITY_STARTTLS or SECURITY_TLS"))
    if not EMAIL.fullmatch(c.from_address):
        problems.append(FieldViolation(p + "from_address", "required: the default sender's email address"))
    if len(c.from_name) > MAX_DISPLAY_NAME:
        problems.append(FieldViolation(p + "from_name", f"at most {MAX_DISPLAY_NAME} characters"))
    if not 0 <= c.max_connections <= MAX_CONNECTIONS:
        problems.append(FieldViolation(p + "max_connections", f"0 (the default, 4) to {MAX_CONNECTIONS}"))
    if c.username and not c.password_secret:
        problems.append(FieldViolation(p + "password_secret", "required with a username"))
    problems += _secret_violations(c.password_secret, p + "password_secret", required=False)
    return problems


def _twilio_violations(c: TwilioConfig, p: str) -> list[FieldViolation]:
    problems = _url_violations(c.base_url, p + "base_url")
    if not ACCOUNT_SID.fullmatch(c.account_sid):
        problems.append(FieldViolation(p + "account_sid", "required: 2-64 letters and digits"))
    problems += _secret_violations(c.auth_token_secret, p + "auth_token_secret", required=True)
    if c.from_number and not E164.fullmatch(c.from_number):
        problems.append(FieldViolation(p + "from_number", f"{c.from_number!r} is not an E.164 number"))
    if not c.from_number and not c.messaging_service_sid:
        problems.append(FieldViolation(p + "from_number", "set from_number or messaging_service_sid"))
    if c.messaging_service_sid and not ACCOUNT_SID.fullmatch(c.messaging_service_sid):
        problems.append(FieldViolation(p + "messaging_service_sid", "2-64 letters and digits"))
    return problems


def _fcm_violations(c: FcmConfig, p: str) -> list[FieldViolation]:
    problems = _url_violations(c.base_url, p + "base_url")
    if not PROJECT_ID.fullmatch(c.project_id):
        problems.append(FieldViolation(p + "project_id", "required: a project id [a-z][a-z0-9-]*"))
    problems += _secret_violations(c.service_account_secret, p + "service_account_secret", required=True)
    return problems


def _rate_violations(r: RateLimit, p: str) -> list[FieldViolation]:
    problems = []
    if not math.isfinite(r.messages_per_second) or not 0 <= r.messages_per_second <= 1_000_000:
        problems.append(FieldViolation(p + "messages_per_second", "0 (unlimited) to 1,000,000"))
    if not 0 <= r.burst <= 1_000_000:
        problems.append(FieldViolation(p + "burst", "0 (one second's worth) to 1,000,000"))
    return problems


def default_provider(workspace: str, smtp: SmtpConfig | None) -> Provider | None:
    """The email provider of a workspace that has none of its own (MKT_NOTIFY_DEFAULT_SMTP)."""
    if smtp is None:
        return None
    return Provider(workspace, DEFAULT_PROVIDER_ID, "Default SMTP (MKT_NOTIFY_DEFAULT_SMTP)", Channel.EMAIL, smtp)
