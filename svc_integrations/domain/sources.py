"""Sources of collected events: a workspace, a display name, and a write key kept only
as its SHA-256 (as API keys are).

A write key reads `wk_<id>_<secret>`: `id` (12 lowercase letters and digits) is the
lookup prefix and the source's resource id; `secret` is 32 random bytes, base64url.
Segment SDKs send it as the HTTP Basic user name. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from svc_kit.errors import FieldViolation, InvalidArgument

from svc_integrations.domain.secret_keys import (MAX_DISPLAY_NAME, HashedSecret, hash_secret, key_pattern,
                                                 new_id_and_secret, parse)

WRITE_KEY_PREFIX = "wk_"
_WRITE_KEY = key_pattern(WRITE_KEY_PREFIX)


@dataclass(frozen=True)
class Source(HashedSecret):
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



def new_source(workspace: str, display_name: str, now: datetime) -> tuple[Source, str]:
    """A new source and its plain write key, which only the caller ever sees."""
    if len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidArgument(FieldViolation("source.display_name", f"at most {MAX_DISPLAY_NAME} characters"))
    source_id, secret = new_id_and_secret()
    return (Source(workspace, source_id, display_name, hash_secret(secret), now),
            f"{WRITE_KEY_PREFIX}{source_id}_{secret}")


def parse_write_key(text: str) -> tuple[str, str] | None:
    """`wk_<id>_<secret>` -> (id, secret); None for anything else."""
    return parse(_WRITE_KEY, text)
