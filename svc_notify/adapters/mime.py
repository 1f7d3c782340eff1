"""Rendered email content to RFC 5322 bytes, built directly (the email
package's generator costs several times more per message on the send path).

The Message-ID is deterministic, `<{message id}.{workspace}@{sender domain}>`,
so a provider (or a receiving server) can recognise a message sent twice
after a crash between the provider's acceptance and our record of it."""

from __future__ import annotations

import base64
import email.utils
from datetime import datetime
from email.header import Header

from svc_notify.domain.model import EmailContent

CRLF = b"\r\n"


def _ascii(text: str) -> bool:
    return text.isascii()


def encode_header_value(text: str) -> str:
    """RFC 2047 for non-ASCII text; folded ASCII left as is."""
    if _ascii(text):
        return text
    return Header(text, "utf-8").encode()


def mailbox(name: str, address: str) -> str:
    if not name:
        return address
    if _ascii(name):
        return email.utils.formataddr((name, address))
    return f"{encode_header_value(name)} <{address}>"


def message_id(message_id_: str, workspace: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "notify.invalid"
    return f"<{message_id_}.{workspace}@{domain}>"


def _body(data: str) -> bytes:
    return base64.encodebytes(data.encode()).replace(b"\n", CRLF)


def _preheader_html(content: EmailContent) -> str:
    if not content.preheader or content.preheader in content.html:
        return content.html
    hidden = ('<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
              f"{_escape(content.preheader)}</div>")
    lower = content.html.lower()
    at = lower.find("<body")
    if at >= 0 and (end := lower.find(">", at)) >= 0:
        return content.html[:end + 1] + hidden + content.html[end + 1:]
    return hidden + content.html


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build(content: EmailContent, sender: str, sender_name: str, to: str, msg_id: str, date: datetime,
          extra_headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    headers = [
        ("From", mailbox(sender_name, sender)),
        ("To", to),
        ("Subject", encode_header_value(content.subject)),
        ("Date", email.utils.format_datetime(date)),
        ("Message-ID", msg_id),
        ("MIME-Version", "1.0"),
    ]
    if content.reply_to:
        headers.append(("Reply-To", content.reply_to))
    headers += [(n, encode_header_value(v)) for n, v in content.headers]
    headers += list(extra_headers)
    html = _preheader_html(content) if content.html else ""
    parts: list[tuple[str, bytes]] = []
    if content.text:
        parts.append(("text/plain", _body(content.text)))
    if html:
        parts.append(("text/html", _body(html)))
    out = [f"{n}: {v}".encode() for n, v in headers]
    if len(parts) == 1:
        kind, body = parts[0]
        out += [f"Content-Type: {kind}; charset=utf-8".encode(), b"Content-Transfer-Encoding: base64", b"", body]
        return CRLF.join(out)
    boundary = f"=_notify_{msg_id.strip('<>').split('@')[0]}".replace("/", "_")
    out += [f'Content-Type: multipart/alternative; boundary="{boundary}"'.encode(), b""]
    for kind, body in parts:
        out += [f"--{boundary}".encode(), f"Content-Type: {kind}; charset=utf-8".encode(),
                b"Content-Transfer-Encoding: base64", b"", body]
    out += [f"--{boundary}--".encode(), b""]
    return CRLF.join(out)
