"""What the platform connectors share: an injectable clock (tests hold time still and count the
sleeps a Retry-After asked for), identifier normalisation and SHA-256 hashing as each platform
specifies, batching, and reading a Retry-After header."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol, TypeVar

import httpx

from svc_integrations.adapters.guarded_http import guarded_transport

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
REFRESH_MARGIN_S = 60.0  # an access token this close to expiry is refreshed before it is used


class Clock(Protocol):
    """Wall time in epoch seconds, and sleeping: injected so tests control both."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def default_client() -> httpx.Client:
    return httpx.Client(timeout=DEFAULT_TIMEOUT)


class HttpPlatformConnector:
    """What the platform connectors share: an httpx client (given, made by a factory, or the
    default one; a client passed in belongs to the caller) and a clock (tests inject both)."""

    def __init__(self, client: httpx.Client | Callable[[], httpx.Client] | None = None, clock: Clock | None = None):
        self._client = client if isinstance(client, httpx.Client) else (client or default_client)()
        self._owns_client = not isinstance(client, httpx.Client)
        self._clock = clock or SystemClock()

    @classmethod
    def guarded(cls):
        """The connector whose calls reach public addresses only (production mode)."""
        return cls(client=lambda: httpx.Client(timeout=DEFAULT_TIMEOUT, transport=guarded_transport()))

    def close(self) -> None:
        """Closes the HTTP client if the connector made it."""
        if self._owns_client:
            self._client.close()


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


_NOT_DIGITS = re.compile(r"\D")


def meta_email(email: str) -> str:
    """Meta: trim leading and trailing whitespace, lower-case."""
    return email.strip().lower()


def meta_phone(phone: str) -> str:
    """Meta: digits only (no symbols, letters or `+`), country code included, no leading zeros."""
    return _NOT_DIGITS.sub("", phone).lstrip("0")


def google_email(email: str) -> str:
    """Google Ads: trim, lower-case; for gmail.com and googlemail.com, drop the periods of the local part."""
    email = email.strip().lower()
    local, at, domain = email.rpartition("@")
    if at and domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        return f"{local}@{domain}"
    return email


def google_phone(phone: str) -> str:
    """Google Ads: E.164, `+` then the country code and number, nothing else."""
    return "+" + _NOT_DIGITS.sub("", phone).lstrip("0")


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def retry_after_seconds(headers: Mapping[str, str], default: float) -> float:
    """Retry-After as delta seconds (the platforms here send seconds); `default` when absent or unreadable."""
    value = headers.get("retry-after")
    if value is None:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        return default


def expires_soon(credentials: Mapping[str, str], clock: Clock, margin: float = REFRESH_MARGIN_S) -> bool:
    """Whether the stored access token is missing, or expires within `margin` seconds."""
    if not credentials.get("access_token"):
        return True
    expires_at = credentials.get("access_token_expires_at", "")
    if not expires_at:
        return False  # a token without a known expiry (a Meta system-user or HubSpot private-app token)
    try:
        return float(expires_at) - clock.now() < margin
    except ValueError:
        return True
