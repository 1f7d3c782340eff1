"""A local SMTP server that keeps every email it receives: the default email
provider of `make run` and the real server the tests and bench/delivery send to.

    python -m devstack.servers.smtp_sink [--host 127.0.0.1] [--port 1025] [--store FILE]

Port: --port, else MKT_SMTP_SINK_PORT, else 1025. Store: --store, else
<MKT_STATE_DIR>/smtp-sink/messages.jsonl; one JSON object per email, appended
as it arrives:

    {"time": "2026-...Z", "mail_from": "...", "rcpt_tos": ["..."], "message_id": "<...>",
     "subject": "...", "data": "<the whole message, headers and body>"}

Recipient rules, to exercise a sender's error handling (any domain):
  tempfail*@...   451 4.3.0 at RCPT (transient: a sender retries later)
  reject*@...     550 5.1.1 at RCPT (permanent: the address does not exist)

SMTP has no delivery webhook: what a real email provider reports by webhook
(delivered, bounced, complained) is posted by whoever plays the provider (the
tests, `make demo`) with `delivery_callback`, signed with the secret the notify
service holds for `default-smtp` (MKT_SECRET_DEFAULT_SMTP_CALLBACK; `make run`
keeps one in <state dir>/callback-signing.key).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from devstack.servers.lifecycle import SinkProcess, serve_until_signalled, sink_main

CALLBACK_SECRET_VARIABLE = "MKT_SECRET_DEFAULT_SMTP_CALLBACK"  # the notify service's secret `default-smtp-callback`

DEFAULT_PORT = 1025
PORT_VARIABLE = "MKT_SMTP_SINK_PORT"
STORE_NAME = "smtp-sink/messages.jsonl"
TEMPFAIL = "451 4.3.0 Temporary failure (smtp_sink rule: tempfail*)"
REJECT = "550 5.1.1 No such user here (smtp_sink rule: reject*)"


def default_store(env=None) -> Path:
    from svc_kit.config import state_dir

    return state_dir(env) / STORE_NAME


def _header(data: bytes, name: bytes) -> str:
    """The first `name:` header of a raw message (unfolded), or ""."""
    head = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    lines = head.split(b"\n")
    wanted = name.lower() + b":"
    for i, line in enumerate(lines):
        if line[:len(wanted)].lower() == wanted:
            value = line[len(wanted):]
            for more in lines[i + 1:]:
                if more[:1] in (b" ", b"\t"):
                    value += b" " + more.strip()
                else:
                    break
            return value.strip().decode("utf-8", "replace")
    return ""


class SinkHandler:
    """aiosmtpd handler: applies the recipient rules and appends each message to the store."""

    def __init__(self, store: Path):
        store.parent.mkdir(parents=True, exist_ok=True)
        self.store = store
        self.file = open(store, "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life
        self.received = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.rpartition("@")[0].lower()
        if local.startswith("tempfail"):
            return TEMPFAIL
        if local.startswith("reject"):
            return REJECT
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        record = {
            "time": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "message_id": _header(data, b"Message-ID"),
            "subject": _header(data, b"Subject"),
            "data": data.decode("utf-8", "replace"),
        }
        self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.file.flush()
        self.received += 1
        return "250 2.0.0 Message accepted for delivery"

    def close(self) -> None:
        self.file.close()


async def serve(host: str, port: int, store: Path, ready=None) -> None:
    from aiosmtpd.smtp import SMTP

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = SinkHandler(store)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink.local", ident="marketing-platform smtp_sink",
                     enable_SMTPUTF8=True, decode_data=False, data_size_limit=32 * 1024 * 1024),
        host=host, port=port, reuse_address=True)

    def close() -> int:
        handler.close()
        return handler.received

    await serve_until_signalled("smtp_sink", server, f"{host}:{port}", store, close, ready)


def delivery_callback(secret: str, workspace: str, events: list[dict], provider: str = "default-smtp",
                      timestamp: float | None = None) -> tuple[str, bytes, dict[str, str]]:
    """The REST path, body and headers of a signed provider callback reporting
    `events` ({"message": name, "type": "delivered"|"bounced"|"complained", ...})."""
    import time

    from svc_kit.signing import callback_signature

    name = f"workspaces/{workspace}/providers/{provider}"
    body = json.dumps({"events": events}).encode()
    signature = callback_signature(secret, name, body, time.time() if timestamp is None else timestamp)
    return f"/v1/{name}:callback", body, {"content-type": "application/json", "x-notify-signature": signature}


def read_messages(store: Path) -> list[dict]:
    """Every email the sink stored so far (a partial last line is left out)."""
    if not store.exists():
        return []
    out = []
    with open(store, encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n"):
                out.append(json.loads(line))
    return out


def iter_messages(store: Path) -> Iterator[dict]:
    yield from read_messages(store)


class SmtpSinkProcess(SinkProcess):
    """Runs the sink as a child process (tests and benchmarks)."""

    module = "devstack.servers.smtp_sink"
    log_name = "smtp-sink.log"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def messages(self) -> list[dict]:
        return read_messages(self.store)


def main(argv: list[str] | None = None) -> int:
    return sink_main(argv, "smtp_sink", __doc__, PORT_VARIABLE, DEFAULT_PORT, default_store, serve)


if __name__ == "__main__":
    sys.exit(main())
