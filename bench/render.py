"""bench/render: personalised emails through the content service's batch render,
next to plain python-liquid rendering the same template for the same recipients,
measured in the same run.

The template (~5 KB of HTML once rendered) is created and published through the
service layer on a throwaway SQLite database; recipients come inline (as the
notify service sends them), 1,000 per BatchRender call. Per round, in turn:

- raw: python-liquid as it comes (`liquid.Environment()`), each field parsed
  once, rendered per recipient: subject, preheader, HTML and text part; no
  tracking, no variants (also printed: the HTML part alone, the figure to
  compare with python-liquid's usual "emails/s" for a 5 KB template);
- service, tracking off: `RenderService.render` (compiled-template cache,
  batch-constant folding, defaults, variants machinery, result objects);
- service, tracking on: the same plus signed click links, open pixel and
  RFC 8058 List-Unsubscribe headers.

Rates are recipients per CPU-second of this (single-threaded) process: the
machine is shared, and CPU time is what "emails/s on one core" means. The best
round counts. Before timing, every recipient's output is checked: with tracking
off all four fields equal the raw render; with tracking on the subject,
preheader and text do, and the HTML differs only where links and the pixel are.

    python -m bench.render [--emails 20000] [--rounds 3] [--batch 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from datetime import UTC, datetime

from liquid import Environment

from svc_kit.channels import Channel
from svc_kit.db import make_engine

from svc_content import migrate
from svc_content.domain.model import EmailContent, TemplateDraft
from svc_content.service_layer import handlers
from svc_content.adapters.directories import NoAudience, NoCampaigns
from svc_content.service_layer.rendering import RenderCall, RenderRequest, RenderService, run_inline
from svc_content.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_content.templating.links import LinkFactory
from svc_content.templating.renderer import profile_namespace

KEY = b"bench-link-signing-key-0123456789abcdef"
BASE_URL = "https://mkt.example.com"
WORKSPACE = "bench"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TARGET_RATE = 10_000

_PARAGRAPH = ('<p style="margin:0 0 12px 0;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;'
              'color:#333333">{}</p>\n')
_COPY = ("Spring is here and so are new arrivals across the store: light jackets, linen shirts and the "
         "trainers everyone asked for are back in every size.")

HTML = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width,initial-scale=1"><title>{{ campaign.name }}</title>'
    "<style>body{margin:0;padding:0;background:#f4f4f4}.btn{background:#e4572e;color:#ffffff;padding:12px 24px;"
    "border-radius:4px;text-decoration:none;font-weight:bold}</style></head>\n"
    '<body><table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f4f4">'
    '<tr><td align="center"><table role="presentation" width="600" cellpadding="0" cellspacing="0" '
    'style="background:#ffffff;margin:24px 0">\n'
    '<tr><td style="padding:24px"><a href="https://shop.example.com/?utm_campaign={{ campaign.id }}">'
    '<img src="https://cdn.example.com/logo.png" width="120" alt="Example Shop"></a></td></tr>\n'
    '<tr><td style="padding:0 24px"><h1 style="font-family:Helvetica,Arial,sans-serif;font-size:24px">'
    "Hello {{ profile.first_name | default: 'there' }},</h1>\n"
    + _PARAGRAPH.format(_COPY) * 3
    + "{% if profile.attributes.tier == 'gold' %}"
    + _PARAGRAPH.format("As a Gold member you get free express delivery and early access until Sunday. "
                        "You have {{ profile.attributes.points }} points to spend.")
    + "{% else %}"
    + _PARAGRAPH.format("Join the club: members collect points on every order and get early access to sales. "
                        "You are {{ 500 | minus: profile.attributes.points }} points away from Gold.")
    + "{% endif %}\n"
    + '{% if segments contains "vip" %}'
    + _PARAGRAPH.format("<strong>VIP preview:</strong> your private sale opens tomorrow at 8 am.")
    + "{% endif %}\n"
    + "<h2 style=\"font-family:Helvetica,Arial,sans-serif;font-size:18px\">Picked for you in "
      "{{ profile.attributes.city | default: 'your city' }}</h2>\n"
    + "".join(f'<p style="margin:0 0 8px 0;font-family:Helvetica,Arial,sans-serif;font-size:15px">'
              f'<a href="https://shop.example.com/p/{sku}?utm_campaign={{{{ campaign.id }}}}">{name}</a> - {price} EUR'
              "</p>\n" for sku, name, price in (("jk-204", "Light jacket", 89), ("ls-118", "Linen shirt", 45),
                                                ("tr-777", "Everyday trainers", 120)))
    + _PARAGRAPH.format("Your personal code <strong>{{ data.coupon }}</strong> takes 10% off until Sunday.")
    + _PARAGRAPH.format(_COPY) * 4
    + '<p style="text-align:center;margin:24px 0"><a class="btn" '
      'href="https://shop.example.com/sale?utm_campaign={{ campaign.id }}">Shop the sale</a></p>\n'
    + _PARAGRAPH.format("Questions? Reply to this email or visit our "
                        '<a href="https://help.example.com/">help centre</a>.')
    + '</td></tr>\n<tr><td style="padding:24px;font-family:Helvetica,Arial,sans-serif;font-size:12px;color:#888888">'
      "You receive this email as {{ profile.email }} because you joined Example Shop. "
      '<a href="{{ message.unsubscribe_url }}">Unsubscribe</a> - '
      '<a href="https://shop.example.com/preferences">Preferences</a><br>'
      "Example Shop, 1 Market Street, Springfield</td></tr>\n"
      "</table></td></tr></table></body></html>\n")

SUBJECT = "{{ profile.first_name | default: 'Hi' }}, spring picks for {{ profile.attributes.city | default: 'you' }}"
PREHEADER = "{% if profile.attributes.tier == 'gold' %}Gold members shop first{% else %}New season, new arrivals{% endif %}"

_CITIES = ["Paris", "Lyon", "Berlin", "Madrid", "Rome", "Lisbon", "Vienna", None]
_NAMES = ["Ann", "Bob", "Chloé", "Dmitri", "Eva", "Farid", "Grace", None]


def recipients(count: int) -> list[RenderRequest]:
    out = []
    for i in range(count):
        attributes = {"tier": "gold" if i % 4 == 0 else "silver", "points": 37 * i % 480,
                      "first_name": _NAMES[i % len(_NAMES)]}
        if _CITIES[i % len(_CITIES)]:
            attributes["city"] = _CITIES[i % len(_CITIES)]
        profile = profile_namespace(f"u-{i}", f"workspaces/{WORKSPACE}/profiles/u-{i}", f"user{i}@example.com",
                                    attributes={k: v for k, v in attributes.items() if v is not None})
        out.append(RenderRequest(f"u-{i}", profile, ("vip",) if i % 10 == 0 else (), {"coupon": f"SPRING-{i:05d}"},
                                 f"m-{i}"))
    return out


def setup(directory: str):
    engine = make_engine(f"sqlite:///{directory}/content.sqlite3")
    migrate.upgrade(engine)

    def uow():
        return SqlUnitOfWork(engine)

    def clock():
        return NOW

    draft = TemplateDraft("Spring picks", content=EmailContent(subject=SUBJECT, preheader=PREHEADER, html=HTML),
                          defaults={"campaign.name": "Spring sale"})
    created = handlers.create_template(handlers.CreateTemplate(WORKSPACE, Channel.EMAIL, draft, "spring"), uow(),
                                       clock, lambda: "unused")
    handlers.publish_template(handlers.PublishTemplate(WORKSPACE, "spring", created.etag), uow(), clock)
    version = handlers.get_version(WORKSPACE, "spring", 1, uow())
    service = RenderService(uow, NoAudience(), NoCampaigns(), KEY, BASE_URL, run_inline, clock=clock)
    return engine, version, service


class Raw:
    """Plain python-liquid: the version's four fields, parsed once."""

    def __init__(self, version):
        env = Environment()
        content = version.content
        self.fields = [env.from_string(s) for s in (content.subject, content.preheader, content.compiled_html,
                                                     content.compiled_text)]
        links = LinkFactory(KEY, BASE_URL, WORKSPACE, "spring-sale", Channel.EMAIL, NOW)
        self.links = links

    def namespaces(self, requests: list[RenderRequest]) -> list[dict]:
        return [{"profile": r.profile, "campaign": {"id": "spring-sale", "name": "Spring sale"},
                 "message": {"id": r.message_id,
                             "unsubscribe_url": self.links.for_recipient(r.profile_id, r.message_id).unsubscribe_url},
                 "segments": list(r.segments), "data": r.data} for r in requests]

    def render(self, namespaces: list[dict]) -> list[list[str]]:
        fields = self.fields
        return [[t.render(**ns) for t in fields] for ns in namespaces]

    def render_html(self, namespaces: list[dict]) -> list[str]:
        html = self.fields[2]
        return [html.render(**ns) for ns in namespaces]


def service_render(service: RenderService, requests: list[RenderRequest], batch: int, tracking: bool) -> list:
    async def run():
        out = []
        for start in range(0, len(requests), batch):
            rendering = await service.render(RenderCall(WORKSPACE, "spring", 1, requests[start:start + batch],
                                                        "spring-sale", tracking))
            out.extend(rendering.results)
        return out

    return asyncio.run(run())


_HREF = re.compile(r'href="[^"]*"')
_CLICK = re.compile(r'href="' + re.escape(BASE_URL) + r'/v1/workspaces/[^"]*:click\?token=[^"&]*&amp;url=[^"]*"')
_PIXEL = re.compile(r'<img src="' + re.escape(BASE_URL) + r'/v1/workspaces/[^"]*:open\?token=[^"]*"[^>]*/>')


def without_links(html: str) -> str:
    return _HREF.sub('href=""', _PIXEL.sub("", html))


def check(raw: list[list[str]], plain: list, tracked: list) -> tuple[int, int]:
    """(recipients whose output is as expected with tracking off, ... with tracking on)."""
    same_plain = same_tracked = 0
    for expected, off, on in zip(raw, plain, tracked):
        if off.error or on.error:
            continue
        e, t = off.content, on.content
        if [e.subject, e.preheader, e.html, e.text] == expected:
            same_plain += 1
        clicks = len(_CLICK.findall(t.html))
        if ([t.subject, t.preheader, t.text] == [expected[0], expected[1], expected[3]]
                and without_links(t.html) == without_links(expected[2])
                and clicks == len(_HREF.findall(expected[2])) - 1 and len(_PIXEL.findall(t.html)) == 1
                and dict(t.headers).get("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"):
            same_tracked += 1
    return same_plain, same_tracked


def measure(fn) -> tuple[float, object]:
    started = time.process_time()
    result = fn()
    return time.process_time() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-render-") as directory:
        engine, version, service = setup(directory)
        try:
            requests = recipients(args.emails)
            raw = Raw(version)
            namespaces = raw.namespaces(requests)
            expected = raw.render(namespaces)
            plain = service_render(service, requests, args.batch, False)
            tracked = service_render(service, requests, args.batch, True)
            same_plain, same_tracked = check(expected, plain, tracked)
            errors = sum(1 for r in plain + tracked if r.error)
            size = sum(len(e[2].encode()) for e in expected) / len(expected)
            links = len(re.findall(r"<a\b", expected[0][2]))
            print(f"bench/render: {args.emails:,} personalised emails, {size / 1024:.1f} KB of HTML on average, "
                  f"4 Liquid fields and {links} links each; batches of {args.batch}, best of {args.rounds} rounds")
            best = {"html": 0.0, "raw": 0.0, "off": 0.0, "on": 0.0}
            for _ in range(args.rounds):
                for path, fn in (("html", lambda: raw.render_html(namespaces)),
                                 ("raw", lambda: raw.render(namespaces)),
                                 ("off", lambda: service_render(service, requests, args.batch, False)),
                                 ("on", lambda: service_render(service, requests, args.batch, True))):
                    seconds, _result = measure(fn)
                    best[path] = max(best[path], args.emails / seconds if seconds else float("inf"))
            print(f"  raw python-liquid, the HTML part alone                 {best['html']:>9,.0f} emails/s")
            print(f"  raw python-liquid (parse once, render per recipient)   {best['raw']:>9,.0f} emails/s")
            print(f"  service batch render, tracking off                     {best['off']:>9,.0f} emails/s")
            print(f"  service batch render, tracking on                      {best['on']:>9,.0f} emails/s")
            print(f"ratio service/raw: tracking off {best['off'] / best['raw']:.2f}, "
                  f"tracking on {best['on'] / best['raw']:.2f}")
            verdict = {path: "met" if best[path] >= TARGET_RATE else "NOT met" for path in ("off", "on")}
            print(f"target >= {TARGET_RATE:,} emails/s on one core: tracking off {verdict['off']}, "
                  f"tracking on {verdict['on']}")
            print(f"outputs: {same_plain:,}/{args.emails:,} identical to the raw render with tracking off; "
                  f"{same_tracked:,}/{args.emails:,} identical but for tracked links, pixel and headers with "
                  f"tracking on; {errors} errors")
            return 0 if same_plain == same_tracked == args.emails and not errors else 1
        finally:
            engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
