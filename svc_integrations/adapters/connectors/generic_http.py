"""The generic outbound HTTP connector (`http`): a segment's changes posted as JSON batches to
any endpoint (docs/integrations.md describes the request and answer shapes).

Request (method from `method`, default POST, to `url`; `Content-Type: application/json`):

    {"audience": "<the sync's remote_object>", "replace": false,
     "session": {"id": "<id>", "batch": 0, "last": true},
     "add": [{"id": "<profile id>", "email": "...", "phone": "+...", "attributes": {...}}, ...],
     "remove": [{"id": "...", "email": "...", "phone": "..."}, ...]}

A full sync sends `"replace": true` and its batches share one session id; the receiver makes the
audience hold exactly the union of that session's `add` lists when it gets the batch marked
`last`. A check (TestConnection) posts the same shape with empty lists and `"check": true`.

Answer: any 2xx takes the batch; a JSON body `{"failures": [{"id": ..., "reason": ...}]}` names
the rows it refused. 401/403 fail the check with the endpoint's own message; 429 and 5xx are
retried (honouring Retry-After) a few times, then the run is retried later."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping, Sequence

import httpx

from svc_integrations.adapters.guarded_http import guarded_transport
from svc_integrations.domain.connectors import (ConnectionCheckFailed, ConnectionContext, ConnectorSpec,
                                                DestinationUnavailable, Member, ParameterSpec, Progress,
                                                PushResult, RowFailure)

SPEC = ConnectorSpec(
    key="http",
    display_name="HTTP endpoint",
    description="Posts a segment's adds and removes as JSON batches to any HTTP endpoint.",
    category="webhook",
    auth_type="api_key",
    parameters=(
        ParameterSpec("url", "URL", "Where the batches are sent (http or https).", type="url", required=True),
        ParameterSpec("method", "Method", "HTTP method of each batch.", type="enum", default_value="POST",
                      allowed_values=("POST", "PUT", "PATCH")),
        ParameterSpec("batch_size", "Batch size", "Rows (adds plus removes) per request, 1 to 10000.", type="int",
                      default_value="1000"),
        ParameterSpec("auth", "Authentication", "none; api_key (credential api_key in the header named by "
                      "api_key_header); basic (credentials username and password); bearer (credential token).",
                      type="enum", default_value="none", allowed_values=("none", "api_key", "basic", "bearer")),
        ParameterSpec("api_key_header", "API key header", "Header carrying the API key when auth is api_key.",
                      default_value="X-API-Key"),
        ParameterSpec("headers", "Extra headers", "A JSON object of extra request headers (no secrets: "
                      "parameters are not encrypted)."),
        ParameterSpec("timeout_seconds", "Timeout", "Seconds to wait for each answer.", type="int",
                      default_value="30"),
    ),
    credential_keys=("api_key", "username", "password", "token"),
    capabilities=(("export", "segment_members"),),
    documentation_uri="docs/integrations.md#the-generic-http-connector",
)

MAX_ATTEMPTS = 3  # per batch, on 429 and 5xx
MAX_WAIT = 10.0  # seconds waited in place for one Retry-After; a longer hint fails the batch for a later run


def _parameter(parameters: Mapping[str, str], key: str) -> str:
    return parameters.get(key) or next(p.default_value for p in SPEC.parameters if p.key == key)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict):
            message = body.get("error") or body.get("message")
            if isinstance(message, dict):
                message = message.get("message")
            if message:
                return f"HTTP {response.status_code}: {message}"
    except ValueError:
        pass
    return f"HTTP {response.status_code}: {response.text[:200] or response.reason_phrase}"


def _row(member: Member, with_attributes: bool) -> dict:
    row: dict = {"id": member.profile_id}
    if member.email:
        row["email"] = member.email
    if member.phone:
        row["phone"] = member.phone
    if with_attributes and member.attributes:
        row["attributes"] = dict(member.attributes)
    return row


class GenericHttpConnector:
    spec = SPEC

    def __init__(self, transport: httpx.BaseTransport | None = None, sleep=time.sleep):
        self.transport = transport
        self.sleep = sleep

    @classmethod
    def guarded(cls) -> GenericHttpConnector:
        """The connector whose calls reach public addresses only (production mode)."""
        return cls(transport=guarded_transport())

    def _headers(self, context: ConnectionContext) -> dict[str, str]:
        parameters, credentials = context.parameters, context.credentials.current()
        headers = {"Content-Type": "application/json", "User-Agent": "marketing-platform-http-connector/1"}
        extra = parameters.get("headers", "")
        if extra:
            try:
                headers.update({str(k): str(v) for k, v in json.loads(extra).items()})
            except (ValueError, AttributeError):
                raise ConnectionCheckFailed("the headers parameter is not a JSON object") from None
        auth = _parameter(parameters, "auth")
        missing = [k for k in {"api_key": ("api_key",), "basic": ("username", "password"),
                               "bearer": ("token",)}.get(auth, ()) if not credentials.get(k)]
        if missing:
            raise ConnectionCheckFailed(f"auth {auth} needs the credentials {', '.join(missing)}")
        if auth == "api_key":
            headers[_parameter(parameters, "api_key_header")] = credentials["api_key"]
        elif auth == "basic":
            pair = f"{credentials['username']}:{credentials['password']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif auth == "bearer":
            headers["Authorization"] = f"Bearer {credentials['token']}"
        return headers

    def _client(self, context: ConnectionContext) -> httpx.Client:
        timeout = float(_parameter(context.parameters, "timeout_seconds") or 30)
        return httpx.Client(transport=self.transport, timeout=timeout, follow_redirects=False)

    def _send(self, client: httpx.Client, context: ConnectionContext, body: dict) -> httpx.Response:
        url, method = _parameter(context.parameters, "url"), _parameter(context.parameters, "method")
        headers = self._headers(context)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = client.request(method, url, headers=headers, content=json.dumps(body).encode())
            except httpx.HTTPError as error:
                if attempt == MAX_ATTEMPTS:
                    raise DestinationUnavailable(f"{type(error).__name__}: {error}") from None
                self.sleep(min(2.0 ** attempt * 0.1, MAX_WAIT))
                continue
            if response.status_code in (401, 403):
                raise ConnectionCheckFailed(_reason(response))
            if response.status_code == 429 or response.status_code >= 500:
                wait = _retry_after(response)
                if attempt == MAX_ATTEMPTS or (wait is not None and wait > MAX_WAIT):
                    raise DestinationUnavailable(_reason(response), wait)
                self.sleep(wait if wait is not None else min(2.0 ** attempt * 0.1, MAX_WAIT))
                continue
            if response.status_code >= 400:
                raise DestinationUnavailable(_reason(response))
            return response
        raise AssertionError("unreachable")

    def check(self, context: ConnectionContext) -> None:
        with self._client(context) as client:
            try:
                self._send(client, context, {"audience": "", "check": True, "replace": False, "add": [],
                                             "remove": []})
            except DestinationUnavailable as error:
                raise ConnectionCheckFailed(error.reason) from None

    def push_members(self, context: ConnectionContext, destination: str, adds: Sequence[Member],
                     removes: Sequence[Member], *, replace: bool, progress: Progress) -> PushResult:
        size = max(1, min(int(_parameter(context.parameters, "batch_size") or 1000), 10000))
        rows = [("add", m) for m in adds] + [("remove", m) for m in removes]
        session = uuid.uuid4().hex
        batches = [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]
        added = removed = 0
        failures: list[RowFailure] = []
        done = 0
        with self._client(context) as client:
            for index, batch in enumerate(batches):
                body = {"audience": destination, "replace": replace,
                        "session": {"id": session, "batch": index, "last": index == len(batches) - 1},
                        "add": [_row(m, True) for op, m in batch if op == "add"],
                        "remove": [_row(m, False) for op, m in batch if op == "remove"]}
                response = self._send(client, context, body)
                refused = self._failures(response)
                failures.extend(RowFailure(profile, reason) for profile, reason in refused.items())
                added += sum(1 for op, m in batch if op == "add" and m.profile_id not in refused)
                removed += sum(1 for op, m in batch if op == "remove" and m.profile_id not in refused)
                done += len(batch)
                if progress(done) and index < len(batches) - 1:
                    break
        return PushResult(added=added, removed=removed, failures=tuple(failures))

    @staticmethod
    def _failures(response: httpx.Response) -> dict[str, str]:
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            return {}
        found = body.get("failures") if isinstance(body, dict) else None
        if not isinstance(found, list):
            return {}
        return {str(f.get("id")): str(f.get("reason", "refused")) for f in found if isinstance(f, dict)}
