"""Sources of collected events: a workspace, a display name, and a write key kept only
as its SHA-256 (as API keys are).

A write key reads `wk_<id>_<secret>`: `id` (12 lowercase letters and digits) is the
lookup prefix and the source's resource id; `secret` is 32 random bytes, base64url.
Segment SDKs send it as the HTTP Basic user name. Pure Python."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from svc_kit.errors import FieldViolation, InvalidArgument

from svc_integrations.domain.api_keys import ID_ALPHABET, ID_LENGTH, MAX_DISPLAY_NAME, hash_secret

WRITE_KEY_PREFIX = "wk_"
_WRITE_KEY = re.compile(r"^wk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class Source:
    workspace: str
    id: str
    display_name: str
    secret_hash: str
    create_time: datetime
    revoke_time: datetime | None = None
    last_used_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/sources/{self.id}"

    @property
    def write_key_prefix(self) -> str:
        return WRITE_KEY_PREFIX + self.id

    @property
    def revoked(self) -> bool:
        return self.revoke_time is not None

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))

    def revoke(self, now: datetime) -> "Source":
        return self if self.revoked else replace(self, revoke_time=now)


def new_source(workspace: str, display_name: str, now: datetime) -> tuple[Source, str]:
    """A new source and its plain write key, which only the caller ever sees."""
    if len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidArgument(FieldViolation("source.display_name", f"at most {MAX_DISPLAY_NAME} characters"))
    source_id = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
    secret = secrets.token_urlsafe(32)
    return (Source(workspace, source_id, display_name, hash_secret(secret), now),
            f"{WRITE_KEY_PREFIX}{source_id}_{secret}")


def parse_write_key(text: str) -> tuple[str, str] | None:
    """`wk_<id>_<secret>` -> (id, secret); None for anything else."""
    match = _WRITE_KEY.match(text)
    return (match.group(1), match.group(2)) if match else None
