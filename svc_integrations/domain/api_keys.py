"""API keys: a workspace, a role, and a secret kept only as its SHA-256.

A key reads `mk_<id>_<secret>`: `id` (12 lowercase letters and digits) is the lookup
prefix and the resource id; `secret` is 32 random bytes, base64url. Pure Python."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from svc_kit.authz import ROLES
from svc_kit.errors import FieldViolation, InvalidArgument

KEY_PREFIX = "mk_"
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_LENGTH = 12
_KEY = re.compile(r"^mk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
MAX_DISPLAY_NAME = 200


@dataclass(frozen=True)
class ApiKey:
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

    @property
    def revoked(self) -> bool:
        return self.revoke_time is not None

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))

    def revoke(self, now: datetime) -> "ApiKey":
        return self if self.revoked else replace(self, revoke_time=now)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(workspace: str, role: str, display_name: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key and its plain text, which only the caller ever sees."""
    violations = []
    if role not in ROLES:
        violations.append(FieldViolation("api_key.role", "must be ROLE_VIEWER, ROLE_EDITOR or ROLE_ADMIN"))
    if len(display_name) > MAX_DISPLAY_NAME:
        violations.append(FieldViolation("api_key.display_name", f"at most {MAX_DISPLAY_NAME} characters"))
    if violations:
        raise InvalidArgument(violations)
    key_id = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
    secret = secrets.token_urlsafe(32)
    return ApiKey(workspace, key_id, role, display_name, hash_secret(secret), now), f"{KEY_PREFIX}{key_id}_{secret}"


def parse_key(text: str) -> tuple[str, str] | None:
    """`mk_<id>_<secret>` -> (id, secret); None for anything else."""
    match = _KEY.match(text)
    return (match.group(1), match.group(2)) if match else None
