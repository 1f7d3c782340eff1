"""Small helpers the throwaway servers (PostgreSQL, Pulsar, MongoDB-wire) share."""

from __future__ import annotations

import socket
from pathlib import Path


def free_port() -> int:
    """A port that was free a moment ago (callers retry if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 25, width: int = 400) -> str:
    """The last lines of a log, long lines cut, for error messages."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join(line if len(line) <= width else line[:width] + " ..." for line in text)


def interrupt(*_) -> None:
    """A signal handler that stops a foreground server like Ctrl-C does."""
    raise KeyboardInterrupt
