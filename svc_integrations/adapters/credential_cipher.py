"""Secrets encrypted at rest: Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`) with keys from
configuration, comma-separated urlsafe-base64 Fernet keys: the first encrypts, every one decrypts
(MultiFernet), so a key is rotated by putting a new one first, re-encrypting, then dropping the old
one. Connection credentials (MKT_INTEGRATIONS_CREDENTIAL_KEYS; re-encrypted by `mkt connections
rotate-keys`, or lazily when a credential is next read or written) and webhook signing secrets
(MKT_INTEGRATIONS_WEBHOOK_SECRET_KEYS, adapters/webhook_secrets.py) each have keys of their own.
Without keys the service runs, and storing such a secret is FAILED_PRECONDITION; `make run` and the
test platforms make development keys in the state folder (devstack/servers/platform.py)."""

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
    def __init__(self, keys: Sequence[str], variable: str = "MKT_INTEGRATIONS_CREDENTIAL_KEYS",
                 what: str = "connections cannot store credentials"):
        self._variable, self._what = variable, what
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
            raise FailedPrecondition(f"no key is configured ({self._variable}): {self._what}")
        return self._multi

    def encrypt_text(self, plain: str) -> str:
        return self._require().encrypt(plain.encode()).decode()

    def decrypt_text(self, token: str) -> str:
        try:
            return self._require().decrypt(token.encode()).decode()
        except InvalidToken:
            raise FailedPrecondition(f"a secret was encrypted with a key no longer configured in {self._variable}; "
                                     "set it again") from None

    def encrypt(self, credentials: Mapping[str, str]) -> str:
        return self.encrypt_text(json.dumps(dict(credentials), sort_keys=True, separators=(",", ":")))

    def decrypt(self, token: str) -> dict[str, str]:
        return json.loads(self.decrypt_text(token))

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
