"""The links a message carries, signed per recipient.

- click tracking: `{base}/v1/workspaces/{w}/messages/{m}:click?token=...&url=...`
  (the notify service's TrackClick; the token binds workspace, campaign,
  profile, message, link id and destination: `svc_kit.link_tracking`);
- the open pixel: `{base}/v1/workspaces/{w}/messages/{m}:open?token=...` (TrackOpen);
- "view in browser": `{base}/v1/workspaces/{w}/messages/{m}:view?token=...`;
- one-click unsubscribe: `{base}/v1/workspaces/{w}/suppressions:unsubscribe?token=...`,
  the audience service's Unsubscribe, with the token layout `svc_kit.signing`
  signs and verifies (`signing.LinkSigner`: byte for byte what `signing.sign`
  makes; it expires after `signing.UNSUBSCRIBE_TTL`, a year), and the RFC 8058
  headers `List-Unsubscribe` / `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.

`{base}` is MKT_PUBLIC_BASE_URL (default http://127.0.0.1:8080, the edge)."""

from __future__ import annotations

import html
from datetime import datetime
from urllib.parse import quote

from svc_kit.channels import Channel
from svc_kit.link_tracking import OPEN_PART, VIEW_PART, CLICK, TrackingSigner, link_part
from svc_kit.signing import Keyring, LinkSigner

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
NO_MESSAGE = "-"  # the message id in links of a render that names no message (previews)
_PART_CACHE_LIMIT = 4096
_PIXEL = ('<img src="{}" width="1" height="1" alt="" '
          'style="display:block;width:1px;height:1px;border:0;overflow:hidden" />')


class LinkFactory:
    """Makes the links of one render call (one workspace, campaign and channel)."""

    def __init__(self, key: bytes | Keyring, base_url: str, workspace: str, campaign_id: str, channel: Channel,
                 now: datetime):
        self.base_url = base_url.rstrip("/")
        self.workspace = workspace
        self.campaign_id = campaign_id
        self.now = now
        self.signer = TrackingSigner(key)
        self._unsubscribe = LinkSigner(key, workspace, channel, campaign_id, now)
        self._unsubscribe_prefix = f"{self.base_url}/v1/workspaces/{workspace}/suppressions:unsubscribe?token="
        self.parts: dict[tuple[str, str], tuple[str, str]] = {}  # (link, url) -> (token part, quoted url)

    def for_recipient(self, profile_id: str, message_id: str) -> RecipientLinks:
        return RecipientLinks(self, profile_id, message_id or NO_MESSAGE)

    def unsubscribe_token(self, profile_id: str) -> str:
        return self._unsubscribe.token(profile_id)

    def click_part(self, link: str, url: str) -> tuple[str, str]:
        found = self.parts.get((link, url))
        if found is None:
            found = (link_part(CLICK, link, url), quote(url, safe=""))
            if len(self.parts) < _PART_CACHE_LIMIT:
                self.parts[(link, url)] = found
        return found


class RecipientLinks:
    __slots__ = ("factory", "profile_id", "message_id", "prefix", "_signer", "_unsubscribe")

    def __init__(self, factory: LinkFactory, profile_id: str, message_id: str):
        self.factory = factory
        self.profile_id = profile_id
        self.message_id = message_id
        self.prefix = f"{factory.base_url}/v1/workspaces/{factory.workspace}/messages/{message_id}"
        self._signer = None
        self._unsubscribe: str | None = None

    @property
    def signer(self):
        """The recipient's tracking signer, made on first use (a message may carry no tracked link)."""
        if self._signer is None:
            factory = self.factory
            self._signer = factory.signer.recipient(factory.workspace, self.profile_id, factory.campaign_id,
                                                    "" if self.message_id == NO_MESSAGE else self.message_id,
                                                    factory.now)
        return self._signer

    def href(self, link: str, written: str) -> str:
        """The click-tracking URL (HTML-escaped, for an href) of a link written
        as `written`; `written` itself when it is no http(s) URL."""
        url = (html.unescape(written) if "&" in written else written).strip()
        lowered = url[:8].lower()
        if not (lowered.startswith("https://") or lowered.startswith("http://")):
            return written
        part, quoted = self.factory.click_part(link, url)
        return f"{self.prefix}:click?token={self.signer.token(part)}&amp;url={quoted}"

    def static_href(self, link) -> str:
        """The click-tracking URL of a link known before the recipient (compiled.StaticLink)."""
        return f"{self.prefix}:click?token={self.signer.token(link.part)}&amp;url={link.quoted}"

    def pixel(self) -> str:
        return _PIXEL.format(f"{self.prefix}:open?token={self.signer.token(OPEN_PART)}")

    @property
    def view_in_browser_url(self) -> str:
        return f"{self.prefix}:view?token={self.signer.token(VIEW_PART)}"

    @property
    def unsubscribe_url(self) -> str:
        if self._unsubscribe is None:
            self._unsubscribe = (self.factory._unsubscribe_prefix
                                 + self.factory.unsubscribe_token(self.profile_id))
        return self._unsubscribe

    def headers(self) -> list[tuple[str, str]]:
        """RFC 8058 one-click unsubscribe headers."""
        return [("List-Unsubscribe", f"<{self.unsubscribe_url}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
