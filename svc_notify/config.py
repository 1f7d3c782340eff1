"""The notify service's configuration, from the environment (checked at start;
a bad value stops the process with one line naming the variable).

MKT_NOTIFY_DATABASE_URL        sqlite:///<state dir>/notify.sqlite3 (default) or postgresql://...
MKT_NOTIFY_MIGRATE_ON_START    true (default) or false
MKT_NOTIFY_DEFAULT_SMTP        host:port of the SMTP server used by workspaces that configured no
                               email provider (plain, no authentication); unset: none. `make run`
                               sets it to the local SMTP sink (127.0.0.1:MKT_SMTP_SINK_PORT)
MKT_NOTIFY_DEFAULT_FROM        sender of those emails (default `Marketing Platform <notify@localhost>`)
MKT_NOTIFY_SECRETS_DIR         folder of secret files (default <state dir>/secrets); a secret
                               `name` is read from MKT_SECRET_<NAME> first, then from <folder>/<name>
MKT_PUBLIC_BASE_URL            where the edge is reachable from outside (status callback URLs
                               given to SMS providers, and their signatures); unset: no callbacks asked
MKT_NOTIFY_DISPATCH            true (default): run the dispatcher in this process; false: API only
MKT_NOTIFY_DISPATCH_BATCH      messages claimed per pass (default 500)
MKT_NOTIFY_LEASE_SECONDS       how long a claim holds before another dispatcher may take the message
                               over (default 120)
MKT_NOTIFY_MAX_ATTEMPTS        provider attempts before a message fails (default 6)
MKT_NOTIFY_RETRY_BASE_SECONDS  backoff ceiling of the first retry, doubling after (default 2; full jitter)
MKT_NOTIFY_RETRY_MAX_SECONDS   largest backoff (default 600)
MKT_LINK_SIGNING_KEY           verifies signed click and open links (shared with the content service)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from svc_kit.config import ConfigError, EnvReader, Settings
from svc_kit import migrations as relational
from svc_kit.signing import key_from_env

from svc_notify.adapters.registry import secrets_folder
from svc_notify.domain.providers import EMAIL, SmtpConfig
from svc_notify.service_layer.dispatcher import DispatchConfig

DEFAULT_FROM = "Marketing Platform <notify@localhost>"
DEFAULT_SMTP_CONNECTIONS = 8  # sessions to the default SMTP server at once


@dataclass(frozen=True)
class NotifyConfig:
    database_url: str
    migrate_on_start: bool
    default_smtp: SmtpConfig | None
    secrets_dir: Path
    public_base_url: str
    dispatch: bool
    dispatcher: DispatchConfig
    link_signing_key: bytes | None


def _flag(settings: Settings, suffix: str, default: str) -> bool:
    raw = (settings.get(suffix, default) or default).lower()
    if raw not in ("true", "false"):
        raise ConfigError(f"{settings.service.env_prefix}{suffix}={raw!r} must be true or false")
    return raw == "true"


def _number(settings: Settings, suffix: str, default: float, low: float, high: float, integer: bool = False):
    variable = settings.service.env_prefix + suffix
    raw = settings.env.get(variable, "")
    if raw == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{variable}={raw!r} must lie between {low:g} and {high:g}")
    return value


def _sender(raw: str, variable: str) -> tuple[str, str]:
    raw = raw.strip()
    if "<" in raw and raw.endswith(">"):
        name, _, address = raw[:-1].partition("<")
        name, address = name.strip().strip('"'), address.strip()
    else:
        name, address = "", raw
    if not EMAIL.fullmatch(address):
        raise ConfigError(f"{variable}={raw!r} is not an address such as `Name <notify@example.com>`")
    return name, address


def default_smtp(settings: Settings) -> SmtpConfig | None:
    variable = settings.service.env_prefix + "DEFAULT_SMTP"
    raw = settings.env.get(variable, "")
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"{variable}={raw!r} must be host:port, such as 127.0.0.1:1025")
    from_variable = settings.service.env_prefix + "DEFAULT_FROM"
    name, address = _sender(settings.env.get(from_variable) or DEFAULT_FROM, from_variable)
    return SmtpConfig(host=host, port=int(port), security="NONE", from_address=address, from_name=name,
                      max_connections=DEFAULT_SMTP_CONNECTIONS)


def load(settings: Settings) -> NotifyConfig:
    public = EnvReader(settings.env).url("MKT_PUBLIC_BASE_URL") or ""
    dispatcher = DispatchConfig(
        batch_size=_number(settings, "DISPATCH_BATCH", 500, 1, 5000, integer=True),
        lease=timedelta(seconds=_number(settings, "LEASE_SECONDS", 120.0, 5, 3600)),
        max_attempts=_number(settings, "MAX_ATTEMPTS", 6, 1, 100, integer=True),
        retry_base=_number(settings, "RETRY_BASE_SECONDS", 2.0, 0.01, 3600),
        retry_cap=_number(settings, "RETRY_MAX_SECONDS", 600.0, 0.01, 86400),
    )
    return NotifyConfig(
        database_url=relational.database_url(settings),
        migrate_on_start=relational.migrate_on_start(settings),
        default_smtp=default_smtp(settings),
        secrets_dir=secrets_folder(settings.env, settings.state_dir),
        public_base_url=public.rstrip("/"),
        dispatch=_flag(settings, "DISPATCH", "true"),
        dispatcher=dispatcher,
        link_signing_key=key_from_env(settings.env),
    )
