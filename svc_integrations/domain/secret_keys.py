"""What API keys (`mk_`) and sources' write keys (`wk_`) share: a key reads `<prefix><id>_<secret>`,
where `id` (12 lowercase letters and digits) is the lookup prefix and the resource id and `secret` is
32 random bytes, base64url; only the secret's SHA-256 is kept, and a key once revoked stays revoked.
Pure Python."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import replace
from datetime import datetime
from typing import Self

ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_LENGTH = 12
MAX_DISPLAY_NAME = 200


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_id_and_secret() -> tuple[str, str]:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH)), secrets.token_urlsafe(32)


def key_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}([a-z0-9]{{{ID_LENGTH}}})_([A-Za-z0-9_-]{{43}})$")


def parse(pattern: re.Pattern[str], text: str) -> tuple[str, str] | None:
    """`<prefix><id>_<secret>` -> (id, secret); None for anything else."""
    match = pattern.match(text)
    return (match.group(1), match.group(2)) if match else None


class HashedSecret:
    """For frozen dataclasses with `secret_hash` and `revoke_time` fields."""

    secret_hash: str
    revoke_time: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoke_time is not None

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))

    def revoke(self, now: datetime) -> Self:
        return self if self.revoked else replace(self, revoke_time=now)
