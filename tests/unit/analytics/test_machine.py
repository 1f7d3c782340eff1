from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from svc_analytics.domain.machine import is_machine, machine_user_agent, too_soon
from svc_analytics.domain.model import CLICKED, OPENED, StoredEvent

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

MACHINES = [
    "Mozilla/5.0",  # Apple Mail Privacy Protection's proxy
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
    "Barracuda Sentinel (EE)",
    "Mimecast-Link-Scanner/1.0",
    "Mozilla/5.0 (compatible; Proofpoint URL Defense)",
    "Microsoft Office SafeLinks",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "python-requests/2.31.0",
    "curl/8.4.0",
    "Wget/1.21.4",
    "Go-http-client/1.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
]

PEOPLE = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",  # Apple Mail
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
    " Edg/120.0.2210.91",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)",
    "Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile"
    " Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile"
    " Safari/537.36",
    "Thunderbird/115.6.0",
    "",
]


@pytest.mark.parametrize("user_agent", MACHINES)
def test_proxies_scanners_and_scripts_are_machines(user_agent):
    assert machine_user_agent(user_agent)


@pytest.mark.parametrize("user_agent", PEOPLE)
def test_people_reading_mail_are_not(user_agent):
    assert not machine_user_agent(user_agent)


def event(type_=OPENED, seconds_after_send=3600, user_agent=PEOPLE[2], **kw) -> StoredEvent:
    return StoredEvent("acme", "e1", type_, NOW + timedelta(seconds=seconds_after_send), NOW, message="m1",
                       properties={"user_agent": user_agent}, **kw)


def test_an_open_or_click_within_the_delay_of_the_send_is_a_machine_s():
    assert is_machine(event(seconds_after_send=9.9), sent_time=NOW)
    assert is_machine(event(CLICKED, seconds_after_send=2), sent_time=NOW)
    assert not is_machine(event(seconds_after_send=10), sent_time=NOW)
    assert not is_machine(event(seconds_after_send=5), sent_time=None)
    assert is_machine(event(seconds_after_send=25), sent_time=NOW, delay=timedelta(seconds=30))


def test_only_opens_and_clicks_are_judged():
    assert not is_machine(event("purchase", seconds_after_send=1, user_agent="curl/8.4.0"), sent_time=NOW)
    assert is_machine(event(user_agent="Mozilla/5.0"), sent_time=NOW)


def test_an_event_before_its_recorded_send_is_not_judged_by_timing():
    assert not too_soon(NOW - timedelta(seconds=1), NOW)
