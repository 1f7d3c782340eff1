"""API keys: a workspace, a role, and a secret kept only as its SHA-256.

A key reads `mk_<id>_<secret>`: `id` (12 lowercase letters and digits) is the lookup
prefix and the resource id; `secret` is 32 random bytes, base64url. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from svc_kit.authz import ROLES
from svc_kit.errors import FieldViolation, InvalidArgument

from svc_integrations.domain.secret_keys import (MAX_DISPLAY_NAME, HashedSecret, hash_secret, key_pattern,
                                                 new_id_and_secret, parse)

KEY_PREFIX = "mk_"
_KEY = key_pattern(KEY_PREFIX)


@dataclass(frozen=True)
class ApiKey(HashedSecret):
    workspace: str
    id: str
    role: str
    display_name: str
    secret_hash: str
    create_time: datetime
    revoke_time: datetime | None = None
    last_used_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/apiKeys/{self.id}"

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIX + self.id



def new_key(workspace: str, role: str, display_name: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key and its plain text, which only the caller ever sees."""
    violations = []
    if role not in ROLES:
        violations.append(FieldViolation("api_key.role", "must be ROLE_VIEWER, ROLE_EDITOR or ROLE_ADMIN"))
    if len(display_name) > MAX_DISPLAY_NAME:
        violations.append(FieldViolation("api_key.display_name", f"at most {MAX_DISPLAY_NAME} characters"))
    if violations:
        raise InvalidArgument(violations)
    key_id, secret = new_id_and_secret()
    return ApiKey(workspace, key_id, role, display_name, hash_secret(secret), now), f"{KEY_PREFIX}{key_id}_{secret}"


def parse_key(text: str) -> tuple[str, str] | None:
    """`mk_<id>_<secret>` -> (id, secret); None for anything else."""
    return parse(_KEY, text)
