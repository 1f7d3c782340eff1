"""The platform's one signing helper: keys that rotate (`Keyring`: a current
and a previous key, MACs compared in constant time), the unsubscribe link
tokens, and the signatures of provider callbacks. The tracking tokens of
`svc_kit.link_tracking` use the same keyring.

An unsubscribe token is `<payload>.<mac>`, both URL-safe base64 without padding:

    payload  compact JSON [2, workspace, profile, channel, campaign, issued, expires]
             (2 = layout version, channel `EMAIL`... or "" for every channel,
             campaign id or "", issued and expires = Unix seconds)
    mac      HMAC-SHA256(key, "mkt-link.v1." + payload)

(Layout 1, without `expires`, is still read: such a token expires
UNSUBSCRIBE_TTL after it was issued.)

Keys: MKT_LINK_SIGNING_KEY (the current key, at least 32 characters, signs)
and MKT_LINK_SIGNING_KEY_PREVIOUS (optional, verifies only), the same on every
service that signs or verifies links. To rotate: set the previous variable to
the current key and the current one to a new key (content, notify and audience
together), wait until the links signed with the old key are no longer wanted
(unsubscribe links: UNSUBSCRIBE_TTL), then drop the previous key. `verify`
compares the MAC in constant time against each key before it looks at the
payload; a bad, altered or expired token raises SignatureError with a reason
fit for a client.

A provider callback carries `X-Notify-Signature: t=<unix seconds>,v1=<hex>`
where the hex is HMAC-SHA256(secret, "<t>.<provider name>." + body), the
provider name being `workspaces/{w}/providers/{p}` (`callback_signature`,
`verify_callback`): a callback older or newer than the tolerance is refused,
so a captured one cannot be replayed later, nor to another provider."""

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
PREVIOUS_KEY_VARIABLE = "MKT_LINK_SIGNING_KEY_PREVIOUS"
SIGNING_KEY = Variable(KEY_VARIABLE, "secret", "",
                       "current key of signed tracking and unsubscribe links, at least 32 characters, the same on "
                       "content, notify and audience (`make run` keeps one in <state dir>/link-signing.key); "
                       "to rotate, move it to MKT_LINK_SIGNING_KEY_PREVIOUS first; unset: such links are refused")
PREVIOUS_SIGNING_KEY = Variable(PREVIOUS_KEY_VARIABLE, "secret", "",
                                "the key MKT_LINK_SIGNING_KEY had before a rotation: links it signed still verify "
                                "(nothing new is signed with it); unset: only the current key verifies")
SIGNING_KEYS = (SIGNING_KEY, PREVIOUS_SIGNING_KEY)
MIN_KEY_LENGTH = 32
MAX_TOKEN_LENGTH = 2048
CLOCK_SKEW = timedelta(minutes=5)
UNSUBSCRIBE_TTL = timedelta(days=365)  # how long an unsubscribe link works (RFC 8058 and CAN-SPAM ask >= 30 days)
CALLBACK_TOLERANCE = timedelta(minutes=5)
CALLBACK_HEADER = "x-notify-signature"
_LAYOUT = 2
_LAYOUTS = (1, 2)
_CONTEXT = b"mkt-link.v1."
_B64 = re.compile(r"[A-Za-z0-9_-]+")


class SignatureError(ValueError):
    """The token is not one this platform signed with these keys (or it expired)."""


@dataclass(frozen=True)
class Keyring:
    """The keys of one signature: `current` signs, `current` and `previous`
    verify (a rotation keeps the previous key until what it signed is no longer
    wanted). Every MAC here is HMAC-SHA256, compared in constant time."""

    current: bytes
    previous: bytes | None = None

    @classmethod
    def of(cls, key: bytes | Keyring) -> Keyring:
        return key if isinstance(key, Keyring) else cls(key)

    @classmethod
    def from_text(cls, text: str | None) -> Keyring | None:
        """A secret's value: the current key on its first line, the previous one on an optional second line."""
        lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
        if not lines:
            return None
        return cls(lines[0].encode(), lines[1].encode() if len(lines) > 1 else None)

    @property
    def keys(self) -> tuple[bytes, ...]:
        return (self.current,) if not self.previous else (self.current, self.previous)

    def checked(self) -> Keyring:
        """Itself, when every key is long enough for links (ValueError otherwise)."""
        for key in self.keys:
            _checked_key(key)
        return self

    def mac(self, data: bytes) -> bytes:
        return hmac.new(self.current, data, hashlib.sha256).digest()

    def matches(self, data: bytes, given: bytes) -> bool:
        """True when `given` is the MAC of `data` under any of the keys (each compared in constant time)."""
        found = False
        for key in self.keys:
            found |= hmac.compare_digest(given, hmac.new(key, data, hashlib.sha256).digest())
        return found


@dataclass(frozen=True)
class LinkClaims:
    workspace: str
    profile: str  # the profile's external id
    channel: Channel | None  # None: every channel
    campaign: str = ""  # campaign id, or "" when the link belongs to no campaign
    issue_time: datetime | None = None  # set by sign() when left out; whole seconds
    expire_time: datetime | None = None  # set by sign() when left out: issue_time + UNSUBSCRIBE_TTL


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    if not _B64.fullmatch(text):
        raise SignatureError("not a link token: bad characters")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SignatureError("not a link token: bad encoding") from None


def _checked_key(key: bytes) -> bytes:
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"a link signing key has at least {MIN_KEY_LENGTH} bytes")
    return key


def _json(value: list) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def link_payload(workspace: str, profile: str, channel: Channel | None, campaign: str, issued: int,
                 expires: int) -> str:
    """The `<payload>` part of an unsubscribe token."""
    return _b64encode(_json([_LAYOUT, workspace, profile, channel.value if channel else "", campaign, issued,
                             expires]).encode())


def sign(key: bytes | Keyring, claims: LinkClaims, now: datetime | None = None) -> str:
    """The token for `claims`, signed with the current key; issue_time defaults to
    now, expire_time to issue_time + UNSUBSCRIBE_TTL."""
    keys = Keyring.of(key).checked()
    issued = claims.issue_time or now or datetime.now(UTC)
    expires = claims.expire_time or issued + UNSUBSCRIBE_TTL
    payload = link_payload(claims.workspace, claims.profile, claims.channel, claims.campaign,
                           int(issued.timestamp()), int(expires.timestamp()))
    return f"{payload}.{_b64encode(keys.mac(_CONTEXT + payload.encode()))}"


class LinkSigner:
    """Signs the unsubscribe tokens of many recipients with one keyed hash
    prepared once (what `sign` makes, byte for byte)."""

    def __init__(self, key: bytes | Keyring, workspace: str, channel: Channel | None, campaign: str,
                 issued: datetime, ttl: timedelta = UNSUBSCRIBE_TTL):
        keys = Keyring.of(key).checked()
        self._mac = hmac.new(keys.current, _CONTEXT, hashlib.sha256)
        self._head = f"[{_LAYOUT},{_json(workspace)},"
        self._tail = (f",{_json(channel.value if channel else '')},{_json(campaign)},{int(issued.timestamp())},"
                      f"{int((issued + ttl).timestamp())}]")

    def token(self, profile: str) -> str:
        payload = _b64encode((self._head + _json(profile) + self._tail).encode())
        mac = self._mac.copy()
        mac.update(payload.encode())
        return f"{payload}.{_b64encode(mac.digest())}"


def verify(key: bytes | Keyring, token: str, max_age: timedelta | None = None,
           now: datetime | None = None) -> LinkClaims:
    """The claims of a token signed with one of the keys; SignatureError when it
    is not one, was altered, has expired, or (with `max_age`) is older than that."""
    keys = Keyring.of(key).checked()
    if not isinstance(token, str) or not token:
        raise SignatureError("not a link token: empty")
    if len(token) > MAX_TOKEN_LENGTH:
        raise SignatureError(f"not a link token: longer than {MAX_TOKEN_LENGTH} characters")
    payload, dot, mac = token.partition(".")
    if not dot or not payload or not mac or "." in mac:
        raise SignatureError("not a link token: expected <payload>.<signature>")
    given = _b64decode(mac)
    raw = _b64decode(payload)
    if not keys.matches(_CONTEXT + payload.encode(), given):
        raise SignatureError("bad signature: the token was altered or signed with another key")
    try:
        layout, workspace, profile, channel, campaign, issued, *rest = json.loads(raw)
        if layout not in _LAYOUTS or len(rest) != (1 if layout == 2 else 0):
            raise ValueError
        if not all(isinstance(v, str) for v in (workspace, profile, channel, campaign)):
            raise TypeError
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (issued, *rest)):
            raise TypeError
        issue_time = datetime.fromtimestamp(issued, UTC)
        expire_time = datetime.fromtimestamp(rest[0], UTC) if rest else issue_time + UNSUBSCRIBE_TTL
        claims = LinkClaims(workspace, profile, Channel(channel) if channel else None, campaign, issue_time,
                            expire_time)
    except (ValueError, TypeError, OverflowError, OSError):
        # Signed with our key yet unreadable: a layout this release does not know.
        raise SignatureError("not a link token this release can read") from None
    now = now or datetime.now(UTC)
    if now >= claims.expire_time:
        raise SignatureError(f"expired: this link was valid until {claims.expire_time.isoformat()}")
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


def key_from_env(env: Mapping[str, str], variable: Variable = SIGNING_KEY) -> bytes | None:
    """MKT_LINK_SIGNING_KEY (or `variable`) as bytes; None when unset; ConfigError when too short."""
    raw = variable.read(env)
    if not raw:
        return None
    if len(raw.encode()) < MIN_KEY_LENGTH:
        raise ConfigError(f"{variable.name} must be at least {MIN_KEY_LENGTH} characters (got {len(raw)}); "
                          "for example: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return raw.encode()


def keyring_from_env(env: Mapping[str, str]) -> Keyring | None:
    """The link keys (MKT_LINK_SIGNING_KEY and MKT_LINK_SIGNING_KEY_PREVIOUS); None when
    no current key is set; ConfigError when a key is too short or only the previous one is set."""
    current = key_from_env(env, SIGNING_KEY)
    previous = key_from_env(env, PREVIOUS_SIGNING_KEY)
    if current is None:
        if previous is not None:
            raise ConfigError(f"{PREVIOUS_KEY_VARIABLE} is set without {KEY_VARIABLE}: a rotation keeps a current key")
        return None
    return Keyring(current, previous if previous != current else None)


# -- provider callbacks ---------------------------------------------------------------------------------


def callback_signature(secret: bytes | str | Keyring, name: str, body: bytes, timestamp: int | float) -> str:
    """The `X-Notify-Signature` value of a callback posted to provider `name`
    (workspaces/{w}/providers/{p}) at `timestamp` (Unix seconds)."""
    keys = Keyring.of(secret.encode() if isinstance(secret, str) else secret)
    t = int(timestamp)
    return f"t={t},v1={keys.mac(f'{t}.{name}.'.encode() + body).hex()}"


def verify_callback(keys: Keyring, name: str, body: bytes, header: str, now: datetime | None = None,
                    tolerance: timedelta = CALLBACK_TOLERANCE) -> datetime:
    """Checks an `X-Notify-Signature` header; returns its time. SignatureError when it
    is missing, malformed, signed with none of the keys, or further than `tolerance` from now."""
    if not header:
        raise SignatureError(f"unsigned: the callback carries no {CALLBACK_HEADER} header")
    fields: dict[str, list[str]] = {}
    for item in header.split(","):
        label, eq, value = item.strip().partition("=")
        if not eq:
            raise SignatureError(f"malformed {CALLBACK_HEADER}: expected t=<unix seconds>,v1=<hex>")
        fields.setdefault(label, []).append(value)
    stamps, macs = fields.get("t", []), fields.get("v1", [])
    if len(stamps) != 1 or not stamps[0].isdigit() or len(stamps[0]) > 12 or not macs:
        raise SignatureError(f"malformed {CALLBACK_HEADER}: expected t=<unix seconds>,v1=<hex>")
    data = f"{stamps[0]}.{name}.".encode() + body
    good = False
    for mac in macs[:4]:
        try:
            given = bytes.fromhex(mac)
        except ValueError:
            raise SignatureError(f"malformed {CALLBACK_HEADER}: v1 is hexadecimal") from None
        good |= keys.matches(data, given)
    if not good:
        raise SignatureError("bad signature: the callback was altered or signed with another secret")
    signed = int(stamps[0])
    now = now or datetime.now(UTC)
    if abs(now.timestamp() - signed) > tolerance.total_seconds():
        when = datetime.fromtimestamp(signed, UTC).isoformat() if signed < 253402300800 else f"{signed} (Unix)"
        raise SignatureError(f"stale: signed at {when}, more than {int(tolerance.total_seconds())} s "
                             "from now (a replay, or a clock far off)")
    return datetime.fromtimestamp(signed, UTC)
