"""Signed tracking tokens: the click links, open pixel and "view in browser"
link the content service puts into a message, verified by the notify service
(TrackClick, TrackOpen, RecordEngagement). Same keys as the unsubscribe links
(MKT_LINK_SIGNING_KEY signs, it and MKT_LINK_SIGNING_KEY_PREVIOUS verify:
`svc_kit.signing.Keyring`), another MAC context, so a tracking token is never
accepted as an unsubscribe token or the other way round. A click redirects
only to the URL signed into its token.

A token is `<recipient>.<link>.<mac>`, each URL-safe base64 without padding:

    recipient  compact JSON [1, workspace, profile, campaign, message, issued]
               (1 = layout version; profile = external id; campaign and message
               ids or ""; issued = Unix seconds)
    link       compact JSON [kind, link id, url]: kind "c" (click: link id
               such as "l3" and the destination URL), "o" (open), "v" (view)
    mac        HMAC-SHA256(key, "mkt-track.v1." + recipient + "." + link)

The split lets a sender key the HMAC with the recipient part once and finish it
per link (`TrackingSigner`): a message with ten links costs ten hash
finalisations, not ten JSON encodings and keyed hashes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from svc_kit.signing import MAX_TOKEN_LENGTH, Keyring, SignatureError, _b64decode, _b64encode, check_age

_CONTEXT = b"mkt-track.v1."
_LAYOUT = 1
CLICK, OPEN, VIEW = "c", "o", "v"
KINDS = {CLICK: "click", OPEN: "open", VIEW: "view"}


@dataclass(frozen=True)
class TrackingClaims:
    workspace: str
    profile: str  # the profile's external id
    campaign: str  # campaign id, or ""
    message: str  # notify message id, or ""
    kind: str  # "click", "open" or "view"
    link: str = ""  # for clicks: the link's id in the message, "l1", "l2"...
    url: str = ""  # for clicks: the destination
    issue_time: datetime | None = None


def _json(value: list) -> str:
    return _b64encode(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def link_part(kind: str, link: str = "", url: str = "") -> str:
    """The `<link>` part of a token; the same for every recipient, so it can be made once."""
    return _json([kind, link, url])


OPEN_PART = link_part(OPEN)
VIEW_PART = link_part(VIEW)


class RecipientSigner:
    """Signs the tokens of one recipient's message: HMAC-SHA256 computed as its
    definition (RFC 2104) with the inner hash already fed the key, the context
    and the recipient part, so a token costs two hash finalisations."""

    __slots__ = ("part", "_inner", "_outer")

    def __init__(self, inner, outer, workspace: str, profile: str, campaign: str, message: str, issued: int):
        self.part = _json([_LAYOUT, workspace, profile, campaign, message, issued])
        self._inner = inner.copy()
        self._inner.update(self.part.encode() + b".")
        self._outer = outer

    def token(self, part: str) -> str:
        inner = self._inner.copy()
        inner.update(part.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return f"{self.part}.{part}.{_b64encode(outer.digest())}"


class TrackingSigner:
    def __init__(self, key: bytes | Keyring):
        key = Keyring.of(key).checked().current
        if len(key) > 64:  # SHA-256's block size
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._inner.update(_CONTEXT)
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def recipient(self, workspace: str, profile: str, campaign: str, message: str,
                  issued: datetime) -> RecipientSigner:
        return RecipientSigner(self._inner, self._outer, workspace, profile, campaign, message,
                               int(issued.timestamp()))


def sign_tracking(key: bytes | Keyring, claims: TrackingClaims, now: datetime | None = None) -> str:
    kind = next((k for k, v in KINDS.items() if v == claims.kind), None)
    if kind is None:
        raise ValueError(f"unknown tracking kind {claims.kind!r}")
    issued = claims.issue_time or now or datetime.now(UTC)
    signer = TrackingSigner(key).recipient(claims.workspace, claims.profile, claims.campaign, claims.message, issued)
    return signer.token(link_part(kind, claims.link, claims.url))


def verify_tracking(key: bytes | Keyring, token: str, max_age: timedelta | None = None,
                    now: datetime | None = None) -> TrackingClaims:
    """The claims of a tracking token signed with one of the keys; SignatureError otherwise."""
    keys = Keyring.of(key).checked()
    if not isinstance(token, str) or not token:
        raise SignatureError("not a tracking token: empty")
    if len(token) > MAX_TOKEN_LENGTH * 2:
        raise SignatureError(f"not a tracking token: longer than {MAX_TOKEN_LENGTH * 2} characters")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise SignatureError("not a tracking token: expected <recipient>.<link>.<signature>")
    recipient, link, mac = parts
    given = _b64decode(mac)
    raw_recipient, raw_link = _b64decode(recipient), _b64decode(link)
    if not keys.matches(_CONTEXT + f"{recipient}.{link}".encode(), given):
        raise SignatureError("bad signature: the token was altered or signed with another key")
    try:
        layout, workspace, profile, campaign, message, issued = json.loads(raw_recipient)
        kind, link_id, url = json.loads(raw_link)
        if layout != _LAYOUT or kind not in KINDS:
            raise ValueError
        if not all(isinstance(v, str) for v in (workspace, profile, campaign, message, link_id, url)):
            raise TypeError
        if not isinstance(issued, int) or isinstance(issued, bool):
            raise TypeError
        claims = TrackingClaims(workspace, profile, campaign, message, KINDS[kind], link_id, url,
                                datetime.fromtimestamp(issued, UTC))
    except (ValueError, TypeError, OverflowError, OSError):
        raise SignatureError("not a tracking token this release can read") from None
    check_age(claims.issue_time, max_age, now)
    return claims


def verify_engagement(key: bytes | Keyring, token: str, max_age: timedelta | None = None,
                      now: datetime | None = None) -> TrackingClaims:
    """What a click or open endpoint accepts: a tracking token only (above),
    which binds the message, the recipient and, for a click, the destination.
    A plain link token of `svc_kit.signing` (an unsubscribe token) binds no
    destination and is refused."""
    if isinstance(token, str) and token.count(".") == 1:
        raise SignatureError("not a tracking token: an unsubscribe link's token binds no message nor destination")
    return verify_tracking(key, token, max_age, now)
