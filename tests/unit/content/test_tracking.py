"""Tracking in rendered emails: links rewritten to signed click URLs, the open
pixel, the one-click unsubscribe link the audience service accepts, and the
RFC 8058 headers."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from svc_kit.channels import Channel
from svc_kit.link_tracking import TrackingClaims, sign_tracking, verify_tracking
from svc_kit.signing import UNSUBSCRIBE_TTL, LinkClaims, SignatureError, sign, verify

from svc_content.domain.model import EmailContent
from svc_content.templating.compiled import add_tracking
from svc_content.templating.links import LinkFactory
from svc_content.templating.renderer import BatchContext, CompiledTemplate, Recipient, profile_namespace, render_batch

KEY = b"t" * 40
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BASE = "https://mkt.example.com"

HTML = """<html><body>
<a href="https://shop.example.com/sale?a=1&amp;b=2">Sale</a>
<a class="x" href='https://shop.example.com/p/{{ data.sku }}'>Product</a>
<a href="mailto:help@example.com">Mail</a> <a href="#top">Top</a> <a href="/relative">Rel</a>
<a href="{{ message.unsubscribe_url }}">Unsubscribe</a>
<a href="https://example.com/private" data-mkt-notrack>Private</a>
{% raw %}<a href="https://example.com/raw">raw</a>{% endraw %}
{% for p in data.more %}<a href="{{ p }}">more</a>{% endfor %}
</body></html>"""


def render(html_source: str = HTML, tracking: bool = True, message: str = "m-1"):
    content = EmailContent(subject="Hi", html=html_source, compiled_html=html_source, compiled_text="Hi")
    template = CompiledTemplate(Channel.EMAIL, content, (), {}, ("message.unsubscribe_url",))
    links = LinkFactory(KEY, BASE, "acme", "spring", Channel.EMAIL, NOW)
    batch = BatchContext("acme", "seed", {"id": "spring"}, tracking, links)
    recipient = Recipient("u-1", profile_namespace("u-1"), data={"sku": "42", "more": ["https://a.example/", "ftp://x"]},
                          message_id=message)
    result, = render_batch(template, [recipient], batch)
    assert not result.error, result.error
    return result.content


def hrefs(text: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r"""href=["']([^"']*)["']""", text)]


def test_http_links_become_signed_click_links_naming_recipient_message_and_destination():
    email = render()
    found = hrefs(email.html)
    clicks = [h for h in found if ":click?" in h]
    assert len(clicks) == 3  # sale, product, the loop's https link
    destinations = []
    for i, click in enumerate(clicks):
        parts = urlsplit(click)
        assert f"{parts.scheme}://{parts.netloc}" == BASE
        assert parts.path == "/v1/workspaces/acme/messages/m-1:click"
        query = parse_qs(parts.query)
        claims = verify_tracking(KEY, query["token"][0])
        assert (claims.workspace, claims.profile, claims.campaign, claims.message, claims.kind) == \
            ("acme", "u-1", "spring", "m-1", "click")
        assert claims.url == unquote(query["url"][0]) and claims.issue_time == NOW
        destinations.append((claims.link, claims.url))
    assert destinations == [("l1", "https://shop.example.com/sale?a=1&b=2"), ("l2", "https://shop.example.com/p/42"),
                            ("l3", "https://a.example/")]


def test_other_links_are_left_as_written():
    found = hrefs(render().html)
    assert "mailto:help@example.com" in found and "#top" in found and "/relative" in found
    assert "https://example.com/private" in found and "ftp://x" in found
    assert '<a href="https://example.com/raw">raw</a>' in render().html
    unsubscribe = [h for h in found if "suppressions:unsubscribe" in h]
    assert len(unsubscribe) == 1


def test_the_open_pixel_sits_before_the_end_of_the_body():
    email = render()
    pixel = re.search(r'<img src="([^"]+)" width="1" height="1"[^>]*/>\n?</body>', email.html)
    assert pixel, email.html[-300:]
    url = urlsplit(html.unescape(pixel.group(1)))
    assert url.path == "/v1/workspaces/acme/messages/m-1:open"
    assert verify_tracking(KEY, parse_qs(url.query)["token"][0]).kind == "open"


def test_the_unsubscribe_link_is_one_the_audience_service_verifies():
    email = render()
    url = next(h for h in hrefs(email.html) if "suppressions:unsubscribe" in h)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/v1/workspaces/acme/suppressions:unsubscribe"
    token = parse_qs(parts.query)["token"][0]
    assert verify(KEY, token, now=NOW) == LinkClaims("acme", "u-1", Channel.EMAIL, "spring", NOW, NOW + UNSUBSCRIBE_TTL)
    assert token == sign(KEY, LinkClaims("acme", "u-1", Channel.EMAIL, "spring", NOW))  # byte for byte


def test_list_unsubscribe_headers_follow_rfc_8058():
    email = render()
    headers = dict(email.headers)
    assert set(headers) == {"List-Unsubscribe", "List-Unsubscribe-Post"}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<https://[^<>\s]+>", headers["List-Unsubscribe"])
    token = parse_qs(urlsplit(headers["List-Unsubscribe"][1:-1]).query)["token"][0]
    assert verify(KEY, token, now=NOW).profile == "u-1"


def test_without_tracking_links_stay_and_no_headers_are_added():
    email = render(tracking=False)
    assert ":click?" not in email.html and ":open?" not in email.html and email.headers == ()
    assert "https://shop.example.com/p/42" in email.html
    assert "suppressions:unsubscribe?token=" in email.html  # message.unsubscribe_url still works


def test_a_render_without_a_message_names_none():
    clicks = [h for h in hrefs(render(message="").html) if ":click?" in h]
    assert urlsplit(clicks[0]).path == "/v1/workspaces/acme/messages/-:click"
    assert verify_tracking(KEY, parse_qs(urlsplit(clicks[0]).query)["token"][0]).message == ""


def test_tracking_tokens_refuse_tampering_and_are_not_unsubscribe_tokens():
    token = sign_tracking(KEY, TrackingClaims("acme", "u-1", "spring", "m-1", "click", "l1", "https://a.example/"),
                          now=NOW)
    recipient, link, mac = token.split(".")
    forged_link = sign_tracking(KEY, TrackingClaims("acme", "u-1", "spring", "m-1", "click", "l1",
                                                    "https://evil.example/"), now=NOW).split(".")[1]
    with pytest.raises(SignatureError, match="bad signature"):
        verify_tracking(KEY, f"{recipient}.{forged_link}.{mac}")
    with pytest.raises(SignatureError):
        verify(KEY, token)  # a tracking token does not unsubscribe anyone
    with pytest.raises(SignatureError):
        verify_tracking(KEY, sign(KEY, LinkClaims("acme", "u-1", Channel.EMAIL)))
    with pytest.raises(SignatureError, match="another key"):
        verify_tracking(b"o" * 40, token)


def test_rewriting_wraps_only_trackable_anchors():
    tracked, count = add_tracking('<a href="https://x.example/">x</a><a href="mailto:a@b">m</a><p>no body</p>')
    assert count == 1 and tracked.endswith("{% mkt_open %}")
    assert '{% mkt_track l1 %}https://x.example/{% endmkt_track %}' in tracked


def test_an_engagement_endpoint_takes_tracking_tokens_only():
    from svc_kit.link_tracking import verify_engagement

    click = sign_tracking(KEY, TrackingClaims("acme", "u-1", "spring", "m-1", "click", "l1", "https://a.example/"),
                          now=NOW)
    assert verify_engagement(KEY, click).url == "https://a.example/"
    with pytest.raises(SignatureError, match="binds no message nor destination"):  # an unsubscribe token
        verify_engagement(KEY, sign(KEY, LinkClaims("acme", "u-1", Channel.EMAIL, "spring", NOW)))
    with pytest.raises(SignatureError):
        verify_engagement(KEY, click[:-3] + "abc")


def test_tracking_tokens_verify_with_the_previous_key_after_a_rotation():
    from svc_kit.signing import Keyring

    claims = TrackingClaims("acme", "u-1", "spring", "m-1", "click", "l1", "https://a.example/", NOW)
    before = sign_tracking(KEY, claims)
    rotated = Keyring(b"r" * 40, previous=KEY)
    assert verify_tracking(rotated, before) == claims  # a link sent before the rotation still works
    after = sign_tracking(rotated, claims)
    assert verify_tracking(b"r" * 40, after) == claims  # the current key signs
    with pytest.raises(SignatureError, match="another key"):
        verify_tracking(Keyring(b"r" * 40), before)  # once the previous key is dropped
    links = LinkFactory(rotated, BASE, "acme", "spring", Channel.EMAIL, NOW)
    assert verify(b"r" * 40, links.unsubscribe_token("u-1"), now=NOW).profile == "u-1"
