"""Webhook signing secrets at rest, encrypted by the service's one Fernet cipher
(adapters/credential_cipher.py) under keys of their own (MKT_INTEGRATIONS_WEBHOOK_SECRET_KEYS)."""

from __future__ import annotations

from collections.abc import Sequence

from svc_integrations.adapters.credential_cipher import FernetCipher


class FernetSecretBox:
    def __init__(self, keys: Sequence[str], variable: str = "MKT_INTEGRATIONS_WEBHOOK_SECRET_KEYS"):
        self._cipher = FernetCipher(keys, variable, "webhooks cannot keep signing secrets")

    def seal(self, plain: str) -> str:
        return self._cipher.encrypt_text(plain) if plain else ""

    def open(self, sealed: str) -> str:
        return self._cipher.decrypt_text(sealed) if sealed else ""

    def reseal(self, sealed: str) -> str:
        """The same secret under the current (first) key."""
        return self._cipher.rotate(sealed) if sealed else ""
