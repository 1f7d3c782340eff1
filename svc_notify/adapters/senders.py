"""Provider adapters: email over SMTP (aiosmtplib, pooled connections), SMS
through a Twilio-style messages API and push through an FCM v1-style send API
(httpx). Each answers an Outcome: accepted, or a transient failure (timeouts,
429 with Retry-After, 5xx, SMTP 4xx: retried later) or a permanent one (other
4xx, SMTP 5xx: the message fails with the provider's answer).

Provider retries belong to the dispatcher (backoff with full jitter); these
adapters make exactly one attempt per call. Each passes the message's id to
the provider (the Message-ID header; an `Idempotency-Key` header on HTTP) so a
provider can deduplicate a message sent twice after a crash."""

from __future__ import annotations

import abc
import asyncio
import importlib.util
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import aiosmtplib
import httpx


def skip_missing_sniffio() -> None:
    """httpcore tries `import sniffio` several times per request; without the
    package each failed import searches the whole path (about 0.5 ms). Marking
    it absent makes those imports fail at once; nothing changes when it is installed."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


skip_missing_sniffio()

from svc_notify.adapters import mime
from svc_notify.domain.providers import FcmConfig, SmtpConfig, TwilioConfig
from svc_notify.domain.pacing import parse_retry_after
from svc_notify.service_layer.ports import ConfigurationError, OutgoingEmail, Outcome

log = logging.getLogger("svc_notify.senders")
TWILIO_BASE = "https://api.twilio.com"
FCM_BASE = "https://fcm.googleapis.com"
IDLE_SECONDS = 50.0  # a pooled SMTP connection idle for longer is closed rather than reused
HTTP_IN_FLIGHT = 8  # requests one HTTP provider gets at once; the rest wait here (httpcore slows down past ~8)


class Sender(abc.ABC):
    @abc.abstractmethod
    async def check(self) -> Outcome:
        """Connects and authenticates; sends nothing."""

    async def close(self) -> None:
        return None


class _Lanes:
    """Runs calls on a few long-lived tasks: httpx (through anyio) keeps state per
    task, so a few tasks making many requests cost much less than many tasks making
    one each (about a third less CPU per request here); SMTP sessions are used the
    same way. Also bounds the calls in flight."""

    def __init__(self, size: int):
        self.size = size
        self.queue: asyncio.Queue | None = None
        self.tasks: list[asyncio.Task] = []

    async def run(self, fn, *args):
        if self.queue is None:
            self.queue = asyncio.Queue()
            self.tasks = [asyncio.create_task(self._lane()) for _ in range(self.size)]
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((fn, args, future))
        return await future

    async def _lane(self) -> None:
        while True:
            fn, args, future = await self.queue.get()
            if future.done():
                continue
            try:
                result = await fn(*args)
            except asyncio.CancelledError:
                future.cancel()
                raise
            except Exception as error:  # noqa: BLE001 - handed to the caller
                if not future.done():
                    future.set_exception(error)
            else:
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks, self.queue = [], None


# -- email ---------------------------------------------------------------------------------------------


def _smtp_outcome(code: int, message: str) -> Outcome:
    response = f"{code} {message}".strip()
    if 400 <= code < 500:
        return Outcome.transient(response)
    return Outcome.refused(response)


class SmtpSender(Sender):
    """Up to `max_connections` SMTP sessions, each reused for many messages."""

    def __init__(self, config: SmtpConfig, password: str | None, timeout: float = 30.0):
        self.config = config
        self.password = password
        self.timeout = timeout
        self.lanes = _Lanes(config.connections)
        self.idle: list[tuple[aiosmtplib.SMTP, float]] = []

    def _client(self) -> aiosmtplib.SMTP:
        c = self.config
        return aiosmtplib.SMTP(hostname=c.host, port=c.port, timeout=self.timeout, use_tls=c.security == "TLS",
                               start_tls=True if c.security == "STARTTLS" else False,
                               local_hostname="notify.local")

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._client()
        await client.connect()
        if self.config.username:
            await client.login(self.config.username, self.password or "")
        return client

    async def check(self) -> Outcome:
        try:
            client = await self._connect()
            await client.quit()
            return Outcome(True, response="connected" + (" and authenticated" if self.config.username else ""))
        except aiosmtplib.SMTPAuthenticationError as error:
            return Outcome.refused(f"authentication failed: {error.code} {error.message}")
        except aiosmtplib.SMTPResponseException as error:
            return _smtp_outcome(error.code, error.message)
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
            return Outcome.transient(f"cannot connect to {self.config.host}:{self.config.port}: {error}")

    async def send(self, sender: str, recipient: str, data: bytes, msg_id: str) -> Outcome:
        return await self.lanes.run(self._send, sender, recipient, data, msg_id)

    async def send_email(self, email: OutgoingEmail) -> Outcome:
        msg_id = mime.message_id(email.message_id, email.workspace, email.from_address)
        data = mime.build(email.content, email.from_address, email.from_name, email.to, msg_id, email.date,
                          email.headers)
        return await self.send(email.from_address, email.to, data, msg_id)

    async def _send(self, sender: str, recipient: str, data: bytes, msg_id: str) -> Outcome:
        options = [] if sender.isascii() and recipient.isascii() else ["SMTPUTF8"]
        for reused in (True, False):
            client = None
            now = time.monotonic()
            while self.idle and reused:
                candidate, since = self.idle.pop()
                if now - since < IDLE_SECONDS and candidate.is_connected:
                    client = candidate
                    break
                self._discard(candidate)
            fresh = client is None
            try:
                if client is None:
                    client = await self._connect()
                errors, message = await client.sendmail(sender, [recipient], data, mail_options=options)
            except aiosmtplib.SMTPRecipientsRefused as error:
                self._keep(client)
                first = error.recipients[0]
                return _smtp_outcome(first.code, first.message)
            except aiosmtplib.SMTPAuthenticationError as error:
                self._discard(client)
                return Outcome.refused(f"authentication failed: {error.code} {error.message}")
            except aiosmtplib.SMTPResponseException as error:
                self._keep(client)
                return _smtp_outcome(error.code, error.message)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as error:
                self._discard(client)
                if not fresh:
                    continue  # a pooled session the server had closed: once more, on a new one
                return Outcome.transient(f"disconnected: {error}")
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
                self._discard(client)
                return Outcome.transient(f"{type(error).__name__}: {error}"
                                         f" ({self.config.host}:{self.config.port})")
            self._keep(client)
            return Outcome(True, provider_message_id=msg_id, response=f"250 {message}".strip())
        return Outcome.transient("no SMTP session could be opened")  # pragma: no cover - loop always returns

    def _keep(self, client: aiosmtplib.SMTP | None) -> None:
        if client is not None and client.is_connected:
            self.idle.append((client, time.monotonic()))

    @staticmethod
    def _discard(client: aiosmtplib.SMTP | None) -> None:
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a broken session
                pass

    async def close(self) -> None:
        await self.lanes.close()
        idle, self.idle = self.idle, []
        for client, _ in idle:
            try:
                await asyncio.wait_for(client.quit(), 2)
            except Exception:  # noqa: BLE001 - the server may be gone already
                self._discard(client)


# -- HTTP providers ------------------------------------------------------------------------------------



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
        self.lanes = _Lanes(HTTP_IN_FLIGHT)

    async def close(self) -> None:
        await self.lanes.close()

    @staticmethod
    def _describe(body: dict) -> str:
        parts = [str(body.get("code") or ""), str(body.get("message") or "")]
        return " ".join(p for p in parts if p)

    async def _post(self, form: dict, idempotency_key: str) -> httpx.Response:
        return await self.client.post(self.url, data=form, auth=self.auth, headers={"Idempotency-Key": idempotency_key})

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
        self.lanes = _Lanes(HTTP_IN_FLIGHT)

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
        headers = {"Authorization": f"Bearer {self.token}"}
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
