"""Secrets by name, and the adapter of each configured provider (built once
per provider version and kept, with its connection pool)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

import httpx

from svc_kit.channels import Channel

from svc_notify.adapters.http_senders import FcmSender, TwilioSender
from svc_notify.adapters.senders import Sender
from svc_notify.adapters.smtp_sender import SmtpSender
from svc_notify.domain.providers import (DEFAULT_PROVIDER_ID, FcmConfig, Provider, SmtpConfig, TwilioConfig,
                                         default_provider)

HTTP_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class Secrets:
    """A secret named `name` is read from MKT_SECRET_<NAME> (upper-cased, every
    character other than a letter or digit as `_`), else from the file
    <folder>/<name> (MKT_NOTIFY_SECRETS_DIR, default <state dir>/secrets). Values
    are never stored with the provider nor returned by the API."""

    def __init__(self, env: Mapping[str, str], folder: Path):
        self.env = env
        self.folder = folder

    @staticmethod
    def variable(name: str) -> str:
        return "MKT_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()

    def get(self, name: str) -> str | None:
        if not name:
            return None
        value = self.env.get(self.variable(name))
        if value:
            return value
        path = self.folder / name
        if "/" not in name and path.is_file():
            return path.read_text().strip() or None
        return None


class ProviderRegistry:
    def __init__(self, secrets: Secrets, default_smtp: SmtpConfig | None = None, status_callback_base: str = "",
                 now: Callable[[], datetime] | None = None):
        self.secrets = secrets
        self.default_smtp = default_smtp
        self.status_callback_base = status_callback_base.rstrip("/")
        self.now = now
        self._senders: dict[tuple, Sender] = {}
        self._http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, limits=httpx.Limits(
                max_connections=128, max_keepalive_connections=128))
        return self._http

    def sender(self, provider: Provider) -> Sender:
        """The provider's adapter; ConfigurationError when it cannot be built (a missing secret)."""
        shared = provider.id == DEFAULT_PROVIDER_ID
        key = ("*", provider.id, 0) if shared else (provider.workspace, provider.id, provider.version)
        sender = self._senders.get(key)
        if sender is None:
            sender = self._build(provider)
            self._senders[key] = sender
        return sender

    def _build(self, provider: Provider) -> Sender:
        config = provider.config
        if isinstance(config, SmtpConfig):
            return SmtpSender(config, self.secrets.get(config.password_secret))
        if isinstance(config, TwilioConfig):
            callback = (f"{self.status_callback_base}/v1/{provider.name}:callback"
                        if self.status_callback_base else "")
            return TwilioSender(config, self.secrets.get(config.auth_token_secret), self.http, callback, self.now)
        if isinstance(config, FcmConfig):
            return FcmSender(config, self.secrets.get(config.service_account_secret), self.http, self.now)
        raise TypeError(f"unknown provider config {type(config).__name__}")

    def providers_for(self, workspace: str, channel: Channel, configured: list[Provider]) -> list[Provider]:
        """The channel's providers in priority order; the default email provider when there are none."""
        chosen = [p for p in configured if p.channel is channel and not p.disabled]
        if not chosen and channel is Channel.EMAIL and (fallback := default_provider(workspace, self.default_smtp)):
            chosen = [fallback]
        return chosen

    async def close(self) -> None:
        senders, self._senders = list(self._senders.values()), {}
        for sender in senders:
            await sender.close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

