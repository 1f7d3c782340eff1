"""A local endpoint for the generic HTTP connector (svc_integrations/adapters/connectors/
generic_http.py): a real HTTP server in a thread that takes the connector's JSON batches,
keeps each audience's membership (adds, removes, and replace sessions applied at their last
batch), records every request it received, and behaves as an outside endpoint does:

- authentication as configured (`auth`: none, api_key, basic or bearer): a wrong or missing
  credential answers 401 `{"error": "invalid credentials"}` (or the configured message);
- `fail_next(status, count, retry_after)` answers the next requests with 429/5xx;
- a row whose email ends with `@refused.test` is refused: `{"failures": [{"id", "reason"}]}`.

Run standalone: `python -m devstack.platforms.generic_http --port 8099 --auth bearer --token t`."""

from __future__ import annotations

import argparse
import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REFUSED_DOMAIN = "@refused.test"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict


@dataclass
class _Session:
    audience: str
    members: set[str] = field(default_factory=set)


class GenericHttpServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, auth: str = "none", api_key: str = "",
                 api_key_header: str = "X-API-Key", username: str = "", password: str = "", token: str = "",
                 unauthorized_message: str = "invalid credentials", on_batch=None):
        self.auth, self.api_key, self.api_key_header = auth, api_key, api_key_header
        self.username, self.password, self.token = username, password, token
        self.unauthorized_message = unauthorized_message
        self.on_batch = on_batch  # called with each data batch's body once it is answered (tests hook in)
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.audiences: dict[str, set[str]] = {}
        self._sessions: dict[str, _Session] = {}
        self._failures: list[tuple[int, float | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._answer(400, {"error": "the body is not JSON"})
                    return
                status, answer, headers = server._take(self.command, self.path, dict(self.headers.items()), body)
                if server.on_batch is not None and status == 200 and not body.get("check"):
                    server.on_batch(body)
                self._answer(status, answer, headers)

            do_POST = do_PUT = do_PATCH = _handle

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="generic-http-platform", daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/audiences"

    def start(self) -> GenericHttpServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> GenericHttpServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail_next(self, status: int, count: int = 1, retry_after: float | None = None) -> None:
        with self.lock:
            self._failures.extend([(status, retry_after)] * count)

    def members(self, audience: str) -> set[str]:
        with self.lock:
            return set(self.audiences.get(audience, ()))

    def batches(self) -> list[dict]:
        """The bodies of the data requests received (checks left out)."""
        with self.lock:
            return [r.body for r in self.received if not r.body.get("check")]

    def _authorized(self, headers: dict[str, str]) -> bool:
        lower = {k.lower(): v for k, v in headers.items()}
        if self.auth == "api_key":
            return lower.get(self.api_key_header.lower()) == self.api_key
        if self.auth == "bearer":
            return lower.get("authorization") == f"Bearer {self.token}"
        if self.auth == "basic":
            expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return lower.get("authorization") == f"Basic {expected}"
        return True

    def _take(self, method: str, path: str, headers: dict[str, str], body: dict):
        with self.lock:
            self.received.append(Received(method, path, headers, body))
            if not self._authorized(headers):
                return 401, {"error": self.unauthorized_message}, {}
            if self._failures:
                status, retry_after = self._failures.pop(0)
                extra = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
                return status, {"error": "try again later"}, extra
            if body.get("check"):
                return 200, {"ok": True}, {}
            audience = str(body.get("audience", ""))
            failures = []
            taken_adds = []
            for row in body.get("add", []):
                if str(row.get("email", "")).endswith(REFUSED_DOMAIN):
                    failures.append({"id": row.get("id"), "reason": "the email's domain does not accept mail"})
                else:
                    taken_adds.append(str(row.get("id")))
            removes = [str(row.get("id")) for row in body.get("remove", [])]
            if body.get("replace"):
                session_info = body.get("session") or {}
                session = self._sessions.setdefault(str(session_info.get("id")), _Session(audience))
                session.members.update(taken_adds)
                if session_info.get("last", True):
                    self.audiences[audience] = set(session.members)
                    self._sessions.pop(str(session_info.get("id")), None)
            else:
                members = self.audiences.setdefault(audience, set())
                members.update(taken_adds)
                members.difference_update(removes)
            return 200, {"failures": failures}, {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--auth", choices=("none", "api_key", "basic", "bearer"), default="none")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--username", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()
    server = GenericHttpServer(port=args.port, auth=args.auth, api_key=args.api_key, token=args.token,
                               username=args.username, password=args.password)
    print(f"generic HTTP platform on {server.url}", flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
