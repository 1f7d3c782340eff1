"""The plain-text part of an email, generated from its HTML when none is given.

Runs once at save time on the HTML *template*: Liquid markup is kept as it is
(whitespace inside it included), so the text part is itself a template that
renders the same values as the HTML. Links become `label (url)`, images their
alt text, list items `- item`; head, styles, scripts and comments (Outlook
conditionals included) are left out."""

from __future__ import annotations

import re
import secrets
from html.parser import HTMLParser

_LIQUID = re.compile(r"\{%-?\s*(raw|comment)\s*-?%\}.*?\{%-?\s*end\1\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}", re.S)
_SKIP = frozenset({"head", "style", "script", "title", "noscript", "template"})
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote", "pre"})
_BLOCK = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "ul", "ol", "section",
                    "header", "footer", "article", "blockquote", "center", "form", "pre"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.links: list[tuple[str, int]] = []  # (href, position in out where the label starts)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in _SKIP:
            self.skipping += 1
        elif self.skipping:
            return
        elif tag in _BLOCK:
            self.out.append("\n\n" if tag in _PARAGRAPHS else "\n")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "hr":
            self.out.append("\n----\n")
        elif tag == "img" and attributes.get("alt"):
            self.out.append(attributes["alt"])
        elif tag == "a":
            self.links.append((attributes.get("href") or "", len(self.out)))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in _SKIP:
            self.skipping -= 1

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif self.skipping:
            return
        elif tag in _BLOCK:
            self.out.append("\n\n" if tag in _PARAGRAPHS else "\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = re.sub(r"\s+", " ", "".join(self.out[start:])).strip()
            if href and not href.startswith("#") and href != label:
                while self.out and len(self.out) > start and not self.out[-1].strip():
                    self.out.pop()
                if len(self.out) > start:
                    self.out[-1] = self.out[-1].rstrip()
                self.out.append(f" ({href})" if label else href)

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    nonce = secrets.token_hex(4)
    markups: list[str] = []

    def protect(match: re.Match) -> str:
        markups.append(match.group(0))
        return f"mktxt{nonce}x{len(markups) - 1}x"

    parser = _Text()
    parser.feed(_LIQUID.sub(protect, html))
    parser.close()
    text = "".join(parser.out)
    text = "\n".join(line.strip() for line in text.splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return re.sub(rf"mktxt{nonce}x(\d+)x", lambda m: markups[int(m.group(1))], text)
