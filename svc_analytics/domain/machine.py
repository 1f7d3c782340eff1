"""Opens and clicks made by machines rather than people.

Two signals, either one enough:
- the user agent is a known proxy or scanner: Apple Mail Privacy Protection
  fetches every image through a proxy that sends the bare "Mozilla/5.0";
  Gmail's and Yahoo's image proxies name themselves (GoogleImageProxy,
  YahooMailProxy); security gateways (Barracuda, Mimecast, Proofpoint,
  Microsoft Defender / Safe Links, ...) and generic clients (bots, crawlers,
  curl, python-requests, headless browsers) follow every link;
- it happens within a few seconds of the message's send: no person opens or
  clicks that fast, a scanner fetching on delivery does.
An event without a user agent is judged by timing alone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from svc_analytics.domain.model import CLICKED, OPENED, StoredEvent

USER_AGENT_PROPERTY = "user_agent"  # where an open's or click's user agent is kept in StoredEvent.properties
DEFAULT_MACHINE_DELAY = timedelta(seconds=10)
JUDGED_TYPES = (OPENED, CLICKED)

# Apple's MPP proxy sends exactly this (Apple Mail itself sends a full WebKit user agent).
_APPLE_PRIVACY_PROXY = re.compile(r"\s*Mozilla/5\.0\s*")
_KNOWN_MACHINES = re.compile(
    r"GoogleImageProxy|ggpht\.com|YahooMailProxy|Barracuda|Mimecast|Proofpoint|ppops-|SafeLinks|Safe ?Links"
    r"|Microsoft ?Defender|Defender ?for ?Office|Forcepoint|Symantec|Cisco ?IronPort|Trend ?Micro|Sophos"
    r"|Zscaler|Trustwave|SpamTitan|Agari|Avanan"
    r"|python-requests|python-urllib|aiohttp|Go-http-client|curl/|Wget/|libwww-perl|Java/|Apache-HttpClient"
    r"|HeadlessChrome|PhantomJS|Scrapy|crawler|spider"
    # "bot" as a token (Googlebot/2.1, AhrefsBot/7.0, bingbot; ...), not inside a word such as the phone "CUBOT X19"
    r"|bot(?:/|;|\)|$)|\+https?://",
    re.IGNORECASE)


def machine_user_agent(user_agent: str) -> bool:
    if not user_agent.strip():
        return False
    return bool(_APPLE_PRIVACY_PROXY.fullmatch(user_agent) or _KNOWN_MACHINES.search(user_agent))


def too_soon(event_time: datetime, sent_time: datetime | None, delay: timedelta = DEFAULT_MACHINE_DELAY) -> bool:
    """Within `delay` of the send: a machine's fetch, not a person's."""
    return sent_time is not None and timedelta(0) <= event_time - sent_time < delay


def user_agent_of(event: StoredEvent) -> str:
    value = event.properties.get(USER_AGENT_PROPERTY, "")
    return value if isinstance(value, str) else ""


def is_machine(event: StoredEvent, sent_time: datetime | None,
               delay: timedelta = DEFAULT_MACHINE_DELAY) -> bool:
    """Whether an open or click was a machine's (always False for other types)."""
    if event.type not in JUDGED_TYPES:
        return False
    return event.machine or machine_user_agent(user_agent_of(event)) or too_soon(event.event_time, sent_time, delay)
