"""The notify service's configuration, from the environment (checked at start;
a bad value stops the process with one line naming the variable). Every
variable it reads is in VARIABLES; docs/configuration.md lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from svc_kit.bus import factory as bus
from svc_kit.clients import target_variable
from svc_kit.config import ConfigError, Settings, service_variables
from svc_kit import migrations as relational
from svc_kit.services import BY_NAME
from svc_kit.settings_spec import Variable
from svc_kit.signing import SIGNING_KEYS, Keyring, keyring_from_env

from svc_notify.domain.providers import EMAIL, SmtpConfig
from svc_notify.service_layer.dispatcher import DispatchConfig

DEFAULT_FROM = "Marketing Platform <notify@localhost>"
DEFAULT_SMTP_CONNECTIONS = 8  # sessions to the default SMTP server at once
SERVICE = BY_NAME["notify"]
PREFIX = SERVICE.env_prefix

DEFAULT_SMTP = Variable(PREFIX + "DEFAULT_SMTP", "text", "",
                        "host:port of the SMTP server (plain, no authentication) for workspaces that configured no "
                        "email provider (provider `default-smtp`); unset: their emails wait, DEFERRED; `make run` "
                        "sets it to the local SMTP sink")
DEFAULT_SENDER = Variable(PREFIX + "DEFAULT_FROM", "text", DEFAULT_FROM, "sender of the emails sent through it")
SECRETS_DIR = Variable(PREFIX + "SECRETS_DIR", "path", None, "folder of secret files, one file per secret name",
                       shown_default="<state dir>/secrets")
SECRET = Variable("MKT_SECRET_<NAME>", "secret", None,
                  "a provider secret `name` (upper-cased, other characters as _), read before the secrets folder")
PUBLIC_BASE_URL = Variable("MKT_PUBLIC_BASE_URL", "url", "",
                           "where the edge is reachable from outside: the status callback URL given to SMS providers "
                           "with each message; unset: no callbacks asked")
CALLBACK_TOLERANCE = Variable(PREFIX + "CALLBACK_TOLERANCE_SECONDS", "number", 300.0,
                              "how far the signed time of a provider callback may be from now; older or newer "
                              "callbacks are refused (replays)", low=1.0, high=86400.0)
DISPATCH = Variable(PREFIX + "DISPATCH", "flag", True, "run the dispatcher in this process (false: API only)")
DISPATCH_BATCH = Variable(PREFIX + "DISPATCH_BATCH", "integer", 500, "messages claimed per dispatcher pass",
                          low=1, high=5000)
LEASE = Variable(PREFIX + "LEASE_SECONDS", "number", 120.0,
                 "seconds a claim holds before another dispatcher may take the message over", low=5, high=3600)
MAX_ATTEMPTS = Variable(PREFIX + "MAX_ATTEMPTS", "integer", 6, "provider attempts before a message fails",
                        low=1, high=100)
RETRY_BASE = Variable(PREFIX + "RETRY_BASE_SECONDS", "number", 2.0,
                      "backoff ceiling in seconds of the first retry, doubling after (full jitter)", low=0.01,
                      high=3600)
RETRY_MAX = Variable(PREFIX + "RETRY_MAX_SECONDS", "number", 600.0, "largest backoff in seconds", low=0.01,
                     high=86400)

VARIABLES = (service_variables(SERVICE) + relational.variables(SERVICE)
             + (DEFAULT_SMTP, DEFAULT_SENDER, SECRETS_DIR, SECRET, PUBLIC_BASE_URL, *SIGNING_KEYS, CALLBACK_TOLERANCE, DISPATCH,
                DISPATCH_BATCH, LEASE, MAX_ATTEMPTS, RETRY_BASE, RETRY_MAX,
                target_variable("audience"), target_variable("content"))
             + bus.VARIABLES)


@dataclass(frozen=True)
class NotifyConfig:
    database_url: str
    migrate_on_start: bool
    default_smtp: SmtpConfig | None
    secrets_dir: Path
    public_base_url: str
    dispatch: bool
    dispatcher: DispatchConfig
    link_signing_key: Keyring | None
    callback_tolerance: timedelta = timedelta(minutes=5)


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
    raw = DEFAULT_SMTP.read(settings.env)
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"{DEFAULT_SMTP.name}={raw!r} must be host:port, such as 127.0.0.1:1025")
    name, address = _sender(DEFAULT_SENDER.read(settings.env), DEFAULT_SENDER.name)
    return SmtpConfig(host=host, port=int(port), security="NONE", from_address=address, from_name=name,
                      max_connections=DEFAULT_SMTP_CONNECTIONS)


def load(settings: Settings) -> NotifyConfig:
    env = settings.env
    public = PUBLIC_BASE_URL.read(env)
    dispatcher = DispatchConfig(
        batch_size=DISPATCH_BATCH.read(env),
        lease=timedelta(seconds=LEASE.read(env)),
        max_attempts=MAX_ATTEMPTS.read(env),
        retry_base=RETRY_BASE.read(env),
        retry_cap=RETRY_MAX.read(env),
    )
    return NotifyConfig(
        database_url=relational.database_url(settings),
        migrate_on_start=relational.migrate_on_start(settings),
        default_smtp=default_smtp(settings),
        secrets_dir=Path(SECRETS_DIR.read(env) or settings.state_dir / "secrets"),
        public_base_url=public.rstrip("/"),
        dispatch=DISPATCH.read(env),
        dispatcher=dispatcher,
        link_signing_key=keyring_from_env(settings.env),
        callback_tolerance=timedelta(seconds=CALLBACK_TOLERANCE.read(env)),
    )
