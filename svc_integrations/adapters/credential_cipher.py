"""Connection credentials encrypted at rest: Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`)
with keys from configuration (MKT_INTEGRATIONS_CREDENTIAL_KEYS, comma-separated urlsafe-base64
Fernet keys): the first encrypts, every one decrypts (MultiFernet), so a key is rotated by
putting a new one first, re-encrypting (`mkt connections rotate-keys`, or lazily when a
credential is next read or written), then dropping the old one."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from svc_kit.errors import FailedPrecondition


class CredentialKeyError(ValueError):
    pass


def new_credential_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class FernetCipher:
    def __init__(self, keys: Sequence[str]):
        try:
            self._fernets = [Fernet(key.encode()) for key in keys]
        except (ValueError, TypeError) as error:
            raise CredentialKeyError("each credential key must be 32 url-safe base64-encoded bytes (a Fernet key, "
                                     "for example from `python -c 'from cryptography.fernet import Fernet; "
                                     "print(Fernet.generate_key().decode())'`)") from error
        self._multi = MultiFernet(self._fernets) if self._fernets else None

    @property
    def configured(self) -> bool:
        return self._multi is not None

    def _require(self) -> MultiFernet:
        if self._multi is None:
            raise FailedPrecondition("no credential key is configured (MKT_INTEGRATIONS_CREDENTIAL_KEYS): "
                                     "connections cannot store credentials")
        return self._multi

    def encrypt(self, credentials: Mapping[str, str]) -> str:
        raw = json.dumps(dict(credentials), sort_keys=True, separators=(",", ":")).encode()
        return self._require().encrypt(raw).decode()

    def decrypt(self, token: str) -> dict[str, str]:
        try:
            return json.loads(self._require().decrypt(token.encode()))
        except InvalidToken:
            raise FailedPrecondition("the connection's credentials were encrypted with a key no longer configured "
                                     "in MKT_INTEGRATIONS_CREDENTIAL_KEYS; set them again") from None

    def current(self, token: str) -> bool:
        """True when `token` is encrypted with the first (current) key."""
        try:
            self._fernets[0].decrypt(token.encode())
            return True
        except (InvalidToken, IndexError):
            return False

    def rotate(self, token: str) -> str:
        """The same credentials encrypted with the current key."""
        try:
            return self._require().rotate(token.encode()).decode()
        except InvalidToken:
            raise FailedPrecondition("a credential is encrypted with a key no longer configured") from None
