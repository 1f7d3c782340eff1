"""SMS through a Twilio-style messages API and push through an FCM v1-style
send API (httpx, one shared client). 429 (with Retry-After) and 5xx are
transient failures, other 4xx permanent ones; each request carries an
`Idempotency-Key`."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from datetime import datetime

import httpx


def skip_missing_sniffio() -> None:
    """httpcore tries `import sniffio` several times per request; without the
    package each failed import searches the whole path (about 0.5 ms). Marking
    it absent makes those imports fail at once; nothing changes when it is installed."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


skip_missing_sniffio()

from svc_kit.trace_context import current_trace_headers
from svc_notify.adapters.senders import Lanes, Sender
from svc_notify.domain.pacing import parse_retry_after
from svc_notify.domain.providers import FcmConfig, TwilioConfig
from svc_notify.service_layer.ports import ConfigurationError, Outcome

TWILIO_BASE = "https://api.twilio.com"
FCM_BASE = "https://fcm.googleapis.com"
HTTP_IN_FLIGHT = 8  # requests one HTTP provider gets at once; the rest wait here (httpcore slows down past ~8)


def _http_outcome(response: httpx.Response, now: Callable[[], datetime], describe: Callable[[dict], str]) -> Outcome:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        body = {}
    text = f"HTTP {response.status_code} {describe(body) if isinstance(body, dict) else ''}".strip()
    if response.status_code == 429 or response.status_code >= 500:
        return Outcome.transient(text, parse_retry_after(response.headers.get("retry-after"), now()))
    return Outcome.refused(text)


def _transport_failure(error: Exception, url: str) -> Outcome:
    return Outcome.transient(f"{type(error).__name__} calling {url}: {error}".strip())


class TwilioSender(Sender):
    def __init__(self, config: TwilioConfig, auth_token: str | None, client: httpx.AsyncClient,
                 status_callback: str = "", now: Callable[[], datetime] | None = None):
        if not auth_token:
            raise ConfigurationError(f"the auth token secret {config.auth_token_secret!r} is not set "
                                     f"(MKT_SECRET_<NAME> or the secrets folder)")
        self.config = config
        self.base = (config.base_url or TWILIO_BASE).rstrip("/")
        self.url = f"{self.base}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        self.auth = (config.account_sid, auth_token)
        self.client = client
        self.status_callback = status_callback
        self.now = now or (lambda: datetime.now().astimezone())
        self.lanes = Lanes(HTTP_IN_FLIGHT)

    async def close(self) -> None:
        await self.lanes.close()

    @staticmethod
    def _describe(body: dict) -> str:
        parts = [str(body.get("code") or ""), str(body.get("message") or "")]
        return " ".join(p for p in parts if p)

    async def _post(self, form: dict, idempotency_key: str) -> httpx.Response:
        return await self.client.post(self.url, data=form, auth=self.auth,
                                      headers={"Idempotency-Key": idempotency_key, **current_trace_headers()})

    async def check(self) -> Outcome:
        url = f"{self.base}/2010-04-01/Accounts/{self.config.account_sid}.json"
        try:
            response = await self.client.get(url, auth=self.auth)
        except httpx.HTTPError as error:
            return _transport_failure(error, url)
        if response.status_code in (401, 403):
            return Outcome.refused(f"HTTP {response.status_code}: the account sid or auth token was refused")
        return Outcome(True, response=f"reachable (HTTP {response.status_code})")

    async def send(self, to: str, body: str, idempotency_key: str) -> Outcome:
        form = {"To": to, "Body": body}
        if self.config.from_number:
            form["From"] = self.config.from_number
        else:
            form["MessagingServiceSid"] = self.config.messaging_service_sid
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        try:
            response = await self.lanes.run(self._post, form, idempotency_key)
        except httpx.HTTPError as error:
            return _transport_failure(error, self.url)
        if response.is_success:
            try:
                sid = response.json().get("sid", "")
            except ValueError:
                sid = ""
            return Outcome(True, provider_message_id=sid, response=f"HTTP {response.status_code} {sid}".strip())
        return _http_outcome(response, self.now, self._describe)


class FcmSender(Sender):
    """FCM v1-style: the secret holds an OAuth 2 access token, or a JSON object
    with an `access_token` (minting one from a service-account key needs a JWT
    library this release does not ship)."""

    def __init__(self, config: FcmConfig, secret: str | None, client: httpx.AsyncClient,
                 now: Callable[[], datetime] | None = None):
        self.config = config
        self.token = self._token(config, secret)
        self.url = f"{(config.base_url or FCM_BASE).rstrip('/')}/v1/projects/{config.project_id}/messages:send"
        self.client = client
        self.now = now or (lambda: datetime.now().astimezone())
        self.lanes = Lanes(HTTP_IN_FLIGHT)

    async def close(self) -> None:
        await self.lanes.close()

    @staticmethod
    def _token(config: FcmConfig, secret: str | None) -> str:
        if not secret:
            raise ConfigurationError(f"the service account secret {config.service_account_secret!r} is not set "
                                     "(MKT_SECRET_<NAME> or the secrets folder)")
        secret = secret.strip()
        if secret.startswith("{"):
            try:
                document = json.loads(secret)
            except ValueError:
                raise ConfigurationError("the service account secret is not valid JSON") from None
            if document.get("access_token"):
                return str(document["access_token"])
            raise ConfigurationError("service-account keys need a token exchange this release does not do; "
                                     "store an OAuth 2 access token (or {\"access_token\": ...}) in the secret")
        return secret

    @staticmethod
    def _describe(body: dict) -> str:
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        codes = [d.get("errorCode") for d in error.get("details", []) if isinstance(d, dict) and d.get("errorCode")]
        return " ".join(str(p) for p in [error.get("status"), *codes, error.get("message")] if p)

    async def check(self) -> Outcome:
        payload = {"validate_only": True, "message": {"topic": "notify-check", "data": {"check": "1"}}}
        return await self._post(payload, "")

    async def send(self, token: str, title: str, body: str, data: dict[str, str], image_url: str,
                   idempotency_key: str) -> Outcome:
        notification = {k: v for k, v in (("title", title), ("body", body), ("image", image_url)) if v}
        message: dict = {"token": token}
        if notification:
            message["notification"] = notification
        if data:
            message["data"] = data
        return await self._post({"message": message}, idempotency_key)

    async def _request(self, payload: dict, headers: dict) -> httpx.Response:
        return await self.client.post(self.url, json=payload, headers=headers)

    async def _post(self, payload: dict, idempotency_key: str) -> Outcome:
        # The message's trace goes on to the provider (W3C traceparent; read before any lane switches task).
        headers = {"Authorization": f"Bearer {self.token}", **current_trace_headers()}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = await self.lanes.run(self._request, payload, headers)
        except httpx.HTTPError as error:
            return _transport_failure(error, self.url)
        if response.is_success:
            try:
                name = response.json().get("name", "")
            except ValueError:
                name = ""
            return Outcome(True, provider_message_id=name, response=f"HTTP {response.status_code} {name}".strip())
        return _http_outcome(response, self.now, self._describe)
