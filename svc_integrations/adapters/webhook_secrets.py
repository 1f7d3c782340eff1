"""Webhook signing secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`) with key
rotation (MultiFernet: the first key encrypts, every key decrypts). A small local helper until the
connections' credential encryption (part C of issue 16) is merged; then both share one."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class FernetSecretBox:
    def __init__(self, keys: list[str]):
        if not keys:
            raise ValueError("at least one key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode() if plain else ""

    def open(self, sealed: str) -> str:
        if not sealed:
            return ""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise RuntimeError("a webhook secret cannot be decrypted with the configured keys") from None

    def reseal(self, sealed: str) -> str:
        """The same secret under the current (first) key."""
        return self._fernet.rotate(sealed.encode()).decode() if sealed else ""


def keys_from(configured: str, state_dir: Path) -> list[str]:
    """The configured comma-separated Fernet keys; unset: a key kept in the state folder
    (development only: the chart sets the variable from a Kubernetes secret)."""
    keys = [k.strip() for k in configured.split(",") if k.strip()]
    if keys:
        return keys
    path = state_dir / "integrations-webhook-secrets.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(Fernet.generate_key().decode())
            os.link(path.with_suffix(".tmp"), path)  # atomic; a concurrent first start keeps the other's key
        except FileExistsError:
            pass
    return [path.read_text().strip()]
