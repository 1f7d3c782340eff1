"""Process helpers the servers (servers/) and the tools that build binaries (tools/helm.py) share."""

from __future__ import annotations

import collections
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def cache_home(variable: str, folder: str) -> Path:
    """Where a build or download is cached outside the repo: $<variable> when set, else
    ~/.cache/marketing-platform/<folder> (or under $XDG_CACHE_HOME)."""
    configured = os.environ.get(variable)
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "marketing-platform" / folder


_PORTS = random.Random(os.urandom(16))


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


_ISSUED: collections.deque[int] = collections.deque()  # ports this process handed out, oldest first
_ISSUED_SET: set[int] = set()
_ISSUED_KEEP = 5000  # half of the single ports' range: older ones may be handed out again
# Single ports come from [20000, 30000), blocks of consecutive ports (free_block) from 30000 up to the
# ephemeral range, so that the single ports a process holds promised never fragment the blocks' range.
_PORTS_LOW, _BLOCKS_LOW = 20000, 30000


def _issue(ports: list[int]) -> list[int]:
    for port in ports:
        _ISSUED.append(port)
        _ISSUED_SET.add(port)
    while len(_ISSUED) > _ISSUED_KEEP:
        _ISSUED_SET.discard(_ISSUED.popleft())
    return ports


def free_ports(count: int) -> list[int]:
    """`count` distinct ports of 127.0.0.1 that were free a moment ago (all held open at once, so none
    repeats). They are drawn below the kernel's ephemeral range: a port the kernel hands out by bind(0)
    can be taken a moment later as the source port of some outgoing connection (the test process and
    its servers open thousands), which then makes the server that was meant to listen on it fail.
    Nor is a port handed out again that this process handed out recently: callers draw in several calls
    and start their servers later, so a port drawn earlier may be free still but already promised."""
    low, high = _PORTS_LOW, _BLOCKS_LOW
    held: list[socket.socket] = []
    try:
        while len(held) < count:
            port = _PORTS.randrange(low, high)
            if port in _ISSUED_SET:
                continue
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            held.append(sock)
            _ISSUED_SET.add(port)  # no repeat within this draw either
        return _issue([sock.getsockname()[1] for sock in held])
    finally:
        for sock in held:
            sock.close()


def free_block(size: int, avoid: object = ()) -> int:
    """The first port of `size` consecutive ports that are free now, below the ephemeral range (see
    free_ports), not handed out recently and clear of the ports in `avoid` (others a caller has but
    has not bound yet)."""
    low, high = _BLOCKS_LOW, _ephemeral_range()[0] - size
    avoid = set(avoid)
    for _ in range(200):
        base = _PORTS.randrange(low, high, 10)
        if (avoid | _ISSUED_SET) & set(range(base, base + size)):
            continue
        held: list[socket.socket] = []
        try:
            for port in range(base, base + size):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            _issue(list(range(base, base + size)))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise RuntimeError(f"no {size} consecutive free ports between {low} and {high + size}")


def free_port() -> int:
    """A port that was free a moment ago (callers retry if it is taken meanwhile)."""
    return free_ports(1)[0]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Returns once something accepts connections on host:port; RuntimeError
    if `process` exits first or nothing listens within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server for port {port} exited with code {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def stop_process(process: subprocess.Popen | None, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not gone within `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()



@contextlib.contextmanager
def file_lock(path: Path):
    """Holds an exclusive lock on `path` (for builds and downloads that
    several test processes may start at once)."""
    import fcntl

    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


GO_HINT = "install Go 1.24 or newer from https://go.dev/dl/ (Debian bookworm's golang package is 1.19, too old)"


def go_binary(what: str, min_version: tuple[int, int], error: type[Exception]) -> str:
    """The `go` command, new enough to build `what`; `error` naming the fix otherwise."""
    go = shutil.which("go")
    if go is None:
        raise error(f"Go is needed once, to build {what}, and `go` is not on PATH: {GO_HINT}")
    result = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    match = re.match(r"go(\d+)\.(\d+)", result.stdout.strip())
    if result.returncode != 0 or not match:
        raise error(f"`{go} env GOVERSION` failed (exit {result.returncode}): "
                    f"{(result.stderr or result.stdout).strip()}; {GO_HINT}")
    if (int(match.group(1)), int(match.group(2))) < min_version:
        raise error(f"{go} is {result.stdout.strip()}, too old to build {what}: {GO_HINT}")
    return go
