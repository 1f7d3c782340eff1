"""Ships the platform's log files to VictoriaLogs: a small tailer thread of the local supervisor.

The services keep writing JSON lines to stderr, which the supervisor (devstack/servers/platform.py)
writes to <state dir>/logs/<name>.log; this thread follows those files and posts each new complete
line to VictoriaLogs' `/insert/jsonline` endpoint, with `service` as the stream field, `time` as the
time field and `message` as the message field. A line that is not JSON (Envoy's own log, a Python
traceback before logging is configured) goes as {"message": line}; a line without `service` gets the
child's name; an access log line of the Envoy edge or a sidecar (JSON without `message`) gets
`method path status` as its message and the ids of its `traceparent` field as `trace_id` and
`span_id`. Only lines written after shipping began are sent (`from_start=True`: whole files).

A real deployment does not use this: there a collector (Vector, Fluent Bit or the OpenTelemetry
collector's filelog receiver) reads the containers' stderr and ships it the same way.

When VictoriaLogs is out of reach, lines wait in memory (at most MAX_PENDING, the oldest dropped and
counted) and go once it answers again."""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("devstack.logship")

# Settings of the local supervisor (devstack/servers/platform.py, run.py), documented in docs/operations.md.
LOGS_URL_VARIABLE = "MKT_LOGS_URL"  # a VictoriaLogs to ship every child's log lines to
VICTORIALOGS_VARIABLE = "MKT_VICTORIALOGS"  # `make run`: on (default: when it is built) or off
VICTORIALOGS_PORT_VARIABLE = "MKT_VICTORIALOGS_PORT"
DEFAULT_VICTORIALOGS_PORT = 9428

INSERT_PATH = "/insert/jsonline?_stream_fields=service&_time_field=time&_msg_field=message"
MAX_PENDING = 200_000  # lines kept while VictoriaLogs is out of reach
BATCH = 5_000  # lines per request
MAX_LINE = 64 * 1024  # longer lines are cut


def _entry(line: str, source: str) -> dict:
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        entry = {"message": line}
    entry.setdefault("service", source)
    entry.setdefault("time", datetime.now(UTC).isoformat(timespec="milliseconds"))
    if "message" not in entry:  # the Envoy edge's and sidecars' JSON access log lines
        entry["message"] = " ".join(str(entry[k]) for k in ("method", "path", "status", "grpc_status")
                                    if entry.get(k) is not None)
    traceparent = entry.get("traceparent")
    if "trace_id" not in entry and isinstance(traceparent, str) and traceparent.count("-") == 3:
        # An access log line carries the request's `traceparent` header: its trace and parent span ids.
        _, entry["trace_id"], entry["span_id"], _ = traceparent.split("-")
    entry["log_file"] = source
    return entry


class LogShipper:
    """Follows `files` (name -> path; more can be added with `follow`) and ships their new lines to
    the VictoriaLogs at `url` every `interval` seconds, until `stop()` (which ships what is left)."""

    def __init__(self, url: str, interval: float = 0.5):
        self.url = url.rstrip("/")
        self.interval = interval
        self.shipped = 0
        self.dropped = 0
        self.failures = 0
        self.last_error: str | None = None
        self._files: dict[str, tuple[Path, int]] = {}  # name -> (path, offset of the next unread byte)
        self._pending: deque[bytes] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, name: str, path: Path, from_start: bool = False) -> None:
        with self._lock:
            if name in self._files:
                return
            try:
                offset = 0 if from_start else path.stat().st_size
            except OSError:
                offset = 0  # not written yet: everything it gets is new
            self._files[name] = (path, offset)

    def start(self) -> LogShipper:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.ship_once()  # what the children wrote while stopping

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.ship_once()
            except Exception:  # noqa: BLE001 - the shipper must outlive any one bad round
                log.exception("log shipping round failed")

    def _read_new(self) -> None:
        with self._lock:
            files = list(self._files.items())
        for name, (path, offset) in files:
            try:
                size = path.stat().st_size
                if size < offset:  # truncated or replaced: start over
                    offset = 0
                if size == offset:
                    continue
                with open(path, "rb") as handle:
                    handle.seek(offset)
                    data = handle.read(size - offset)
            except OSError:
                continue
            end = data.rfind(b"\n") + 1  # complete lines only; the rest waits for its newline
            for raw in data[:end].splitlines():
                line = raw.decode("utf-8", errors="replace").strip()
                if line:
                    self._pending.append(json.dumps(_entry(line[:MAX_LINE], name), default=str).encode())
            while len(self._pending) > MAX_PENDING:
                self._pending.popleft()
                self.dropped += 1
            with self._lock:
                self._files[name] = (path, offset + end)

    def ship_once(self) -> int:
        """Reads what is new and posts it; the number of lines shipped (0 when VictoriaLogs is out of reach)."""
        self._read_new()
        sent = 0
        while self._pending:
            batch = [self._pending[i] for i in range(min(BATCH, len(self._pending)))]
            request = urllib.request.Request(f"{self.url}{INSERT_PATH}", data=b"\n".join(batch) + b"\n",
                                             method="POST", headers={"content-type": "application/stream+json"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    response.read()
            except (OSError, urllib.error.HTTPError) as error:
                self.failures += 1
                self.last_error = str(error)
                return sent
            for _ in batch:
                self._pending.popleft()
            sent += len(batch)
            self.shipped += len(batch)
        return sent
