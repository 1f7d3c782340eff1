"""A webhook receiver: the outside endpoint a subscription points at. A real HTTP server
(ThreadingHTTPServer in a thread) that records every POST (path, headers, body) and answers as
scripted per path: a list of statuses to answer in turn (then 200), and an optional hang (the
request waits until released) to play a slow endpoint.

    with WebhookReceiver() as receiver:
        receiver.respond("/hooks/a", 500)          # 500 once, then 200
        gate = receiver.hang("/hooks/slow")        # hangs until gate.set()
        url = receiver.url("/hooks/a")
        [request] = receiver.wait_for("/hooks/a", 1)

Run alone (`python -m devstack.platforms.webhook_receiver [port]`) it prints each delivery."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    time: float  # time.monotonic() on arrival

    def json(self):
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.verbose = verbose
        self._lock = threading.Condition()
        self._received: dict[str, list[Received]] = defaultdict(list)
        self._scripts: dict[str, deque[int]] = defaultdict(deque)
        self._gates: dict[str, threading.Event] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                status = receiver._arrive(Received(path, {k.lower(): v for k, v in self.headers.items()}, body,
                                                   time.monotonic()))
                answer = json.dumps({"received": status < 300}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    def _arrive(self, request: Received) -> int:
        with self._lock:
            self._received[request.path].append(request)
            status = self._scripts[request.path].popleft() if self._scripts[request.path] else 200
            gate = self._gates.get(request.path)
            self._lock.notify_all()
        if self.verbose:
            print(request.path, request.headers.get("webhook-id"), request.body.decode(errors="replace"), flush=True)
        if gate is not None:
            gate.wait(120)
        return status

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        for gate in list(self._gates.values()):
            gate.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def respond(self, path: str, *statuses: int) -> None:
        """Answer the next requests to `path` with these statuses, in turn (then 200)."""
        with self._lock:
            self._scripts[path].extend(statuses)

    def hang(self, path: str) -> threading.Event:
        """Requests to `path` wait (up to two minutes) until the returned event is set."""
        gate = threading.Event()
        with self._lock:
            self._gates[path] = gate
        return gate

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return list(self._received[path])

    def wait_for(self, path: str, count: int, timeout: float = 30.0) -> list[Received]:
        """At least `count` requests to `path`; AssertionError when they do not come in time."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._received[path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{path}: {len(self._received[path])} of {count} deliveries arrived "
                                         f"within {timeout:g}s")
                self._lock.wait(left)
            return list(self._received[path])


if __name__ == "__main__":
    with WebhookReceiver(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8099, verbose=True) as running:
        print(f"receiving webhooks at {running.url('/')}", flush=True)
        threading.Event().wait()
