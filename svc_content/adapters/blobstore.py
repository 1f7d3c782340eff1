"""Content-addressed byte storage: a blob's address is the SHA-256 of its
bytes, so the same bytes are stored once however many assets or renditions
name them. Two adapters of svc_content.service_layer.ports.BlobStore: in memory (tests)
and the embedded filesystem (`<state dir>/content-blobs/ab/cd/abcd...`, written atomically)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from pathlib import Path

_SHA256 = re.compile(r"[0-9a-f]{64}")


def address(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class MemoryBlobStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.writes = 0

    def put(self, data: bytes) -> str:
        key = address(data)
        if key not in self.blobs:
            self.blobs[key] = bytes(data)
            self.writes += 1
        return key

    def get(self, sha256: str) -> bytes | None:
        return self.blobs.get(sha256)

    def exists(self, sha256: str) -> bool:
        return sha256 in self.blobs


class FilesystemBlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"{sha256!r} is not a SHA-256 address")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        key = address(data)
        target = self.path(key)
        if target.exists():
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)  # atomic: a reader sees all of the blob or none of it
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def exists(self, sha256: str) -> bool:
        try:
            return self.path(sha256).is_file()
        except ValueError:
            return False
