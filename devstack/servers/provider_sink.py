"""A local HTTP server speaking the SMS and push provider APIs the notify
service's adapters use, recording what it receives: the SMS and push provider
of `make run`, and the real server of the adapter tests and bench/delivery.

    python -m devstack.servers.provider_sink [--host 127.0.0.1] [--port 8025] [--store FILE]

Port: --port, else MKT_PROVIDER_SINK_PORT, else 8025. Store: --store, else
<MKT_STATE_DIR>/provider-sink/requests.jsonl (one JSON object per request).

The APIs:
  POST /2010-04-01/Accounts/{sid}/Messages.json    Twilio-style: form body (To, From or
       MessagingServiceSid, Body, StatusCallback), HTTP basic auth {sid}:{token};
       201 {"sid": "SM...", "status": "queued", ...}; errors {"code", "message", "status"}.
       To +15005550001 answers 400 code 21211 (invalid number), +15005550009 400 code 21614.
       With StatusCallback, the sink posts `MessageStatus=delivered` there a moment
       later, signed as the notify service requires of every callback: X-Notify-Signature
       (t=<now>,v1=HMAC-SHA256 of "<t>.<provider name>." + body; `svc_kit.signing.callback_signature`)
       keyed with MKT_PROVIDER_SINK_CALLBACK_SECRET when set, else with the auth token; and,
       like Twilio, X-Twilio-Signature (HMAC-SHA1 of URL + sorted form, key: the token).
  POST /v1/projects/{project}/messages:send          FCM v1-style: JSON {"message": {"token",
       "notification", "data", ...}}, Authorization: Bearer <token>; 200 {"name":
       "projects/{project}/messages/{id}"}; errors {"error": {"code", "message", "status",
       "details": [{"errorCode": ...}]}}. A device token starting with `unregistered`
       answers 404 UNREGISTERED, one starting with `invalid` 400 INVALID_ARGUMENT.

A request carrying `Idempotency-Key` that the sink has seen answers what the
first one got, and is recorded with "replay": true.

Control (for tests), on the same port:
  POST   /_sink/script    {"responses": [{"status": 429, "retry_after": 1, "api": "twilio"}, ...]}
                          the next matching requests ("api": twilio, fcm or any) get these answers
                          in order ("body" optional), instead of being accepted
  GET    /_sink/requests  the recorded requests (?api=twilio|fcm)
  DELETE /_sink/requests  forgets them (and the script)
  GET    /_sink/health
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack.servers.lifecycle import SinkProcess, serve_until_signalled, sink_main

DEFAULT_PORT = 8025
PORT_VARIABLE = "MKT_PROVIDER_SINK_PORT"
CALLBACK_SECRET_VARIABLE = "MKT_PROVIDER_SINK_CALLBACK_SECRET"
STORE_NAME = "provider-sink/requests.jsonl"
TWILIO_PATH = re.compile(r"/2010-04-01/Accounts/([A-Za-z0-9]+)/Messages\.json")
FCM_PATH = re.compile(r"/v1/projects/([a-z0-9-]+)/messages:send")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
MAX_BODY = 1024 * 1024
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 413: "Payload Too Large", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def default_store(env=None) -> Path:
    from svc_kit.config import state_dir

    return state_dir(env) / STORE_NAME


def provider_name(url: str) -> str:
    """`workspaces/{w}/providers/{p}` of a notify callback URL (.../v1/workspaces/{w}/providers/{p}:callback)."""
    path = urllib.parse.urlsplit(url).path
    return path.partition("/v1/")[2].removesuffix(":callback")


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(token, url + each key and value, keys sorted))."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Sink:
    def __init__(self, store: Path):
        store.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(store, "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life
        self.requests: list[dict] = []
        self.script: list[dict] = []
        self.replies: dict[str, tuple[int, dict, dict]] = {}  # idempotency key -> first answer
        self.tasks: set[asyncio.Task] = set()

    def record(self, entry: dict) -> None:
        self.requests.append(entry)
        self.file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.file.flush()

    def scripted(self, api: str) -> dict | None:
        for i, step in enumerate(self.script):
            if step.get("api", "any") in ("any", api):
                return self.script.pop(i)
        return None

    # -- the provider APIs ------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, Any]:
        path, _, query = target.partition("?")
        if path.startswith("/_sink/"):
            return self.control(method, path, query, body)
        if method != "POST":
            return 405, {}, {"error": "POST only"}
        if match := TWILIO_PATH.fullmatch(path):
            return self.answer("twilio", headers, body, lambda: self.twilio(match.group(1), headers, body))
        if match := FCM_PATH.fullmatch(path):
            return self.answer("fcm", headers, body, lambda: self.fcm(match.group(1), headers, body))
        return 404, {}, {"error": f"no API at {path}"}

    def answer(self, api: str, headers: dict[str, str], body: bytes, accept) -> tuple[int, dict, Any]:
        key = headers.get("idempotency-key", "")
        entry = {"time": _now(), "api": api, "idempotency_key": key}
        if headers.get("traceparent"):  # the sender's trace context (W3C), kept to show traces reach providers
            entry["traceparent"] = headers["traceparent"]
        if key and key in self.replies:
            status, extra, reply = self.replies[key]
            self.record({**entry, "replay": True, "status": status, **self.decoded(api, body)})
            return status, extra, reply
        step = self.scripted(api)
        if step is not None:
            status = int(step.get("status", 500))
            extra = {"Retry-After": str(step["retry_after"])} if "retry_after" in step else {}
            reply = step.get("body") or self.error_body(api, status)
            self.record({**entry, "scripted": True, "status": status, **self.decoded(api, body)})
            return status, extra, reply
        status, extra, reply, fields = accept()
        if key and status < 500 and status != 429:
            self.replies[key] = (status, extra, reply)
        self.record({**entry, "status": status, **fields})
        return status, extra, reply

    @staticmethod
    def decoded(api: str, body: bytes) -> dict:
        if api == "twilio":
            return {"form": dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))}
        try:
            return {"json": json.loads(body)}
        except ValueError:
            return {"json": None}

    @staticmethod
    def error_body(api: str, status: int) -> dict:
        if api == "twilio":
            code = {429: 20429, 500: 20500, 503: 20503}.get(status, 20000 + status)
            return {"code": code, "message": f"scripted {status} (provider_sink)", "status": status}
        name = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 400: "INVALID_ARGUMENT",
                401: "UNAUTHENTICATED", 404: "NOT_FOUND"}.get(status, "UNKNOWN")
        return {"error": {"code": status, "message": f"scripted {status} (provider_sink)", "status": name}}

    def twilio(self, account: str, headers: dict[str, str], body: bytes):
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        fields = {"account": account, "form": form}
        auth = headers.get("authorization", "")
        user, token = "", ""
        if auth.startswith("Basic "):
            try:
                user, _, token = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                pass
        if user != account or not token:
            return 401, {}, {"code": 20003, "message": "Authenticate", "status": 401}, fields
        to = form.get("To", "")
        if not E164.fullmatch(to) or to == "+15005550001":
            return 400, {}, {"code": 21211, "message": f"The 'To' number {to} is not a valid phone number.",
                             "status": 400}, fields
        if to == "+15005550009":
            return 400, {}, {"code": 21614, "message": f"'To' number {to} is not a valid mobile number",
                             "status": 400}, fields
        if not (form.get("From") or form.get("MessagingServiceSid")) or not form.get("Body"):
            return 400, {}, {"code": 21602, "message": "Message body and From are required.", "status": 400}, fields
        sid = "SM" + secrets.token_hex(16)
        reply = {"sid": sid, "account_sid": account, "to": to, "from": form.get("From"),
                 "messaging_service_sid": form.get("MessagingServiceSid"), "body": form["Body"],
                 "status": "queued", "num_segments": "1", "direction": "outbound-api",
                 "date_created": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
                 "error_code": None, "error_message": None, "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json"}
        if callback := form.get("StatusCallback"):
            task = asyncio.get_running_loop().create_task(self.status_callback(callback, token, sid, account, form))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return 201, {}, reply, {**fields, "sid": sid}

    async def status_callback(self, url: str, token: str, sid: str, account: str, form: dict) -> None:
        await asyncio.sleep(0.2)
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": account, "MessageStatus": "delivered",
                  "To": form.get("To", ""), "From": form.get("From", "")}
        try:
            import httpx

            from svc_kit.signing import callback_signature

            body = urllib.parse.urlencode(params).encode()
            name = provider_name(url)
            signature = callback_signature(os.environ.get(CALLBACK_SECRET_VARIABLE) or token, name, body, time.time())
            async with httpx.AsyncClient(timeout=5) as client:
                await client.post(url, content=body, headers={
                    "content-type": "application/x-www-form-urlencoded", "X-Notify-Signature": signature,
                    "X-Twilio-Signature": twilio_signature(token, url, params)})
        except Exception as error:  # noqa: BLE001 - a callback is best effort, like the real one
            print(json.dumps({"message": "status callback failed", "url": url, "error": str(error)}), flush=True)

    def fcm(self, project: str, headers: dict[str, str], body: bytes):
        fields: dict[str, Any] = {"project": project}
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        fields["json"] = payload
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return 401, {}, self.error_body("fcm", 401), fields
        message = payload.get("message") if isinstance(payload, dict) else None
        message = message if isinstance(message, dict) else {}
        token = message.get("token", "")
        if not (token or message.get("topic") or message.get("condition")):
            return 400, {}, self.error_body("fcm", 400), fields
        if payload.get("validate_only"):
            return 200, {}, {"name": f"projects/{project}/messages/fake_message_id"}, {**fields, "validate_only": True}
        if token.startswith("unregistered"):
            return 404, {}, {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
                                       "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                                    "errorCode": "UNREGISTERED"}]}}, fields
        if token.startswith("invalid"):
            return 400, {}, {"error": {"code": 400, "message": "The registration token is not a valid FCM "
                                                               "registration token", "status": "INVALID_ARGUMENT",
                                       "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                                    "errorCode": "INVALID_ARGUMENT"}]}}, fields
        name = f"projects/{project}/messages/{secrets.token_hex(8)}"
        return 200, {}, {"name": name}, {**fields, "name": name}

    # -- control ----------------------------------------------------------------------------------------

    def control(self, method: str, path: str, query: str, body: bytes) -> tuple[int, dict, Any]:
        if path == "/_sink/health":
            return 200, {}, {"status": "SERVING", "requests": len(self.requests)}
        if path == "/_sink/script" and method == "POST":
            try:
                steps = json.loads(body or b"{}").get("responses", [])
            except (ValueError, AttributeError):
                return 400, {}, {"error": "expected {\"responses\": [...]}"}
            self.script.extend(steps)
            return 200, {}, {"scripted": len(self.script)}
        if path == "/_sink/requests" and method == "GET":
            api = dict(urllib.parse.parse_qsl(query)).get("api")
            return 200, {}, {"requests": [r for r in self.requests if api in (None, r["api"])]}
        if path == "/_sink/requests" and method == "DELETE":
            self.requests.clear()
            self.script.clear()
            self.replies.clear()
            return 200, {}, {}
        return 404, {}, {"error": f"no control endpoint {method} {path}"}


async def _connection(sink: Sink, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = (lines[0].split(" ", 2) + ["", ""])[:3]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if length > MAX_BODY:
                status, extra, reply = 413, {}, {"error": "body too large"}
                body = b""
            else:
                body = await reader.readexactly(length) if length else b""
                try:
                    status, extra, reply = sink.handle(method, target, headers, body)
                except Exception as error:  # noqa: BLE001 - answer 500 like a real provider would
                    status, extra, reply = 500, {}, {"error": f"provider_sink: {error}"}
            data = json.dumps(reply).encode()
            keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
            head_out = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", "Content-Type: application/json",
                        f"Content-Length: {len(data)}", f"Connection: {'keep-alive' if keep else 'close'}",
                        *(f"{k}: {v}" for k, v in extra.items())]
            writer.write(("\r\n".join(head_out) + "\r\n\r\n").encode() + data)
            await writer.drain()
            if not keep:
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def serve(host: str, port: int, store: Path) -> None:
    sink = Sink(store)
    server = await asyncio.start_server(lambda r, w: _connection(sink, r, w), host, port, reuse_address=True,
                                        backlog=512)

    def close() -> int:
        sink.file.close()
        return len(sink.requests)

    await serve_until_signalled("provider_sink", server, f"{host}:{port}", store, close)


def read_requests(store: Path) -> list[dict]:
    if not store.exists():
        return []
    with open(store, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.endswith("\n")]


class ProviderSinkProcess(SinkProcess):
    """Runs the sink as a child process (tests and benchmarks)."""

    module = "devstack.servers.provider_sink"
    log_name = "provider-sink.log"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def requests(self, api: str | None = None) -> list[dict]:
        return [r for r in read_requests(self.store) if api in (None, r["api"])]

    def script(self, *responses: dict) -> None:
        import httpx

        httpx.post(f"{self.base_url}/_sink/script", json={"responses": list(responses)}, timeout=5).raise_for_status()


def main(argv: list[str] | None = None) -> int:
    return sink_main(argv, "provider_sink", __doc__, PORT_VARIABLE, DEFAULT_PORT, default_store, serve)


if __name__ == "__main__":
    sys.exit(main())
