"""Email over SMTP (aiosmtplib): up to `max_connections` pooled sessions per
provider. An SMTP 4xx is a transient failure, a 5xx a permanent one."""

from __future__ import annotations

import asyncio
import time

import aiosmtplib

from svc_notify.adapters import mime
from svc_notify.adapters.senders import Lanes, Sender
from svc_notify.domain.providers import SmtpConfig
from svc_notify.service_layer.ports import OutgoingEmail, Outcome

IDLE_SECONDS = 50.0  # a pooled SMTP connection idle for longer is closed rather than reused


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
        self.lanes = Lanes(config.connections)
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
