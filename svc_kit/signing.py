"""Signed link tokens: what an unsubscribe link (and later other links in a
message) carries, so that a click can be trusted without a login.

A token is `<payload>.<mac>`, both URL-safe base64 without padding:

    payload  compact JSON [1, workspace, profile, channel, campaign, issued]
             (1 = layout version, channel `EMAIL`... or "" for every channel,
             campaign id or "", issued = Unix seconds)
    mac      HMAC-SHA256(key, "mkt-link.v1." + payload)

The key comes from MKT_LINK_SIGNING_KEY (at least 32 characters), shared by
every service that signs or verifies links. `verify` compares the MAC in
constant time before it looks at the payload; a bad or altered token raises
SignatureError with a reason fit for a client."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from svc_kit.channels import Channel
from svc_kit.config import ConfigError
from svc_kit.settings_spec import Variable

KEY_VARIABLE = "MKT_LINK_SIGNING_KEY"
SIGNING_KEY = Variable(KEY_VARIABLE, "secret", "",
                       "key of signed tracking and unsubscribe links, at least 32 characters, the same on content, "
                       "notify and audience (`make run` keeps one in <state dir>/link-signing.key); changing it "
                       "breaks the links already sent; unset: such links are refused")
MIN_KEY_LENGTH = 32
MAX_TOKEN_LENGTH = 2048
CLOCK_SKEW = timedelta(minutes=5)
_LAYOUT = 1
_CONTEXT = b"mkt-link.v1."
_B64 = re.compile(r"[A-Za-z0-9_-]+")


class SignatureError(ValueError):
    """The token is not one this platform signed with this key (or it expired)."""


@dataclass(frozen=True)
class LinkClaims:
    workspace: str
    profile: str  # the profile's external id
    channel: Channel | None  # None: every channel
    campaign: str = ""  # campaign id, or "" when the link belongs to no campaign
    issue_time: datetime | None = None  # set by sign() when left out; whole seconds


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    if not _B64.fullmatch(text):
        raise SignatureError("not a link token: bad characters")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SignatureError("not a link token: bad encoding") from None


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, _CONTEXT + payload.encode(), hashlib.sha256).digest()


def _checked_key(key: bytes) -> bytes:
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"a link signing key has at least {MIN_KEY_LENGTH} bytes")
    return key


def sign(key: bytes, claims: LinkClaims, now: datetime | None = None) -> str:
    """The token for `claims`; issue_time defaults to now."""
    issued = claims.issue_time or now or datetime.now(UTC)
    payload = _b64encode(json.dumps(
        [_LAYOUT, claims.workspace, claims.profile, claims.channel.value if claims.channel else "", claims.campaign,
         int(issued.timestamp())], separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_b64encode(_mac(_checked_key(key), payload))}"


def verify(key: bytes, token: str, max_age: timedelta | None = None, now: datetime | None = None) -> LinkClaims:
    """The claims of a token signed with `key`; SignatureError when it is not one,
    was altered, or (with `max_age`) is older than that."""
    if not isinstance(token, str) or not token:
        raise SignatureError("not a link token: empty")
    if len(token) > MAX_TOKEN_LENGTH:
        raise SignatureError(f"not a link token: longer than {MAX_TOKEN_LENGTH} characters")
    payload, dot, mac = token.partition(".")
    if not dot or not payload or not mac or "." in mac:
        raise SignatureError("not a link token: expected <payload>.<signature>")
    given = _b64decode(mac)
    raw = _b64decode(payload)
    if not hmac.compare_digest(given, _mac(_checked_key(key), payload)):
        raise SignatureError("bad signature: the token was altered or signed with another key")
    try:
        layout, workspace, profile, channel, campaign, issued = json.loads(raw)
        if layout != _LAYOUT:
            raise ValueError
        if not all(isinstance(v, str) for v in (workspace, profile, channel, campaign)):
            raise TypeError
        if not isinstance(issued, int) or isinstance(issued, bool):
            raise TypeError
        claims = LinkClaims(workspace, profile, Channel(channel) if channel else None, campaign,
                            datetime.fromtimestamp(issued, UTC))
    except (ValueError, TypeError, OverflowError, OSError):
        # Signed with our key yet unreadable: a layout this release does not know.
        raise SignatureError("not a link token this release can read") from None
    check_age(claims.issue_time, max_age, now)
    return claims


def check_age(issue_time: datetime, max_age: timedelta | None, now: datetime | None = None) -> None:
    """SignatureError when a token issued at `issue_time` is older than `max_age`
    (no limit when None), or issued in the future beyond the allowed clock skew."""
    if max_age is None:
        return
    now = now or datetime.now(UTC)
    if issue_time > now + CLOCK_SKEW:
        raise SignatureError("issued in the future")
    if now - issue_time > max_age:
        raise SignatureError(f"expired: issued {issue_time.isoformat()}, valid for {max_age}")


def new_key() -> str:
    """A fresh random key, as MKT_LINK_SIGNING_KEY wants it (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def key_from_env(env: Mapping[str, str]) -> bytes | None:
    """MKT_LINK_SIGNING_KEY as bytes; None when unset; ConfigError when too short."""
    raw = SIGNING_KEY.read(env)
    if not raw:
        return None
    if len(raw.encode()) < MIN_KEY_LENGTH:
        raise ConfigError(f"{KEY_VARIABLE} must be at least {MIN_KEY_LENGTH} characters (got {len(raw)}); "
                          "for example: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return raw.encode()
