"""MJML email bodies, compiled to responsive HTML once, when the template is saved.

The MJML source holds Liquid. Before compiling, every piece of Liquid markup is
swapped for an inert placeholder (so the MJML parser can neither mangle
`{% if a > b %}` nor drop it silently), and swapped back afterwards; markup
the compiler dropped (Liquid between components outside `<mj-raw>`, or in an
attribute MJML rewrites) is reported with its line.

User MJML never reads files: `<mj-include>` is refused, as is any tag the
compiler does not know (which would otherwise crash it). `<mj-style
inline="inline">` needs CSS inlining, mjml's optional `css-inlining` extra
(the `css_inline` package), which this deployment does not install: refused
with that reason."""

from __future__ import annotations

import bisect
import re
import secrets

from bs4 import BeautifulSoup, Tag

from svc_content.templating.sandbox import Problem, line_of

MAX_SOURCE = 512 * 1024
# Components whose content is HTML (or text) handed through as written.
CONTENT_TAGS = frozenset({"mj-text", "mj-button", "mj-raw", "mj-table", "mj-navbar-link", "mj-social-element",
                          "mj-accordion-title", "mj-accordion-text", "mj-style", "mj-title", "mj-preview"})
_LIQUID = re.compile(r"\{%-?\s*(raw|comment)\s*-?%\}.*?\{%-?\s*end\1\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}", re.S)


def _components() -> frozenset[str]:
    from mjml.core.registry import components, register_core_components

    register_core_components()
    return frozenset(components) | {"mjml"}


class _Protected:
    """The source with Liquid markup replaced by placeholders, and the way back."""

    def __init__(self, source: str):
        self.source = source
        nonce = secrets.token_hex(4)
        self.markups: list[tuple[str, str, int]] = []  # (placeholder, markup, offset in source)
        parts, last = [], 0
        self.shift: list[tuple[int, int]] = []  # (offset in protected text, source offset - protected offset)
        delta = 0
        for i, match in enumerate(_LIQUID.finditer(source)):
            placeholder = f"mkliq{nonce}x{i}x"
            parts.append(source[last:match.start()])
            protected_at = match.start() - delta
            parts.append(placeholder)
            self.markups.append((placeholder, match.group(0), match.start()))
            delta += len(match.group(0)) - len(placeholder)
            self.shift.append((protected_at + len(placeholder), delta))
            last = match.end()
        parts.append(source[last:])
        self.text = "".join(parts)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        self._shift_at = [at for at, _ in self.shift]

    def source_line(self, tag: Tag) -> int:
        """The line in the user's source where `tag` starts."""
        if tag.sourceline is None:
            return 0
        offset = self._line_starts[min(tag.sourceline - 1, len(self._line_starts) - 1)] + (tag.sourcepos or 0)
        i = bisect.bisect_right(self._shift_at, offset)
        return line_of(self.source, offset + (self.shift[i - 1][1] if i else 0))

    def restore(self, html: str) -> tuple[str, list[Problem]]:
        problems = []
        for placeholder, markup, offset in self.markups:
            if placeholder not in html:
                shown = markup if len(markup) <= 60 else markup[:57] + "..."
                problems.append(Problem(line_of(self.source, offset),
                                        f"Liquid {shown!r} was dropped by the MJML compiler: put Liquid tags "
                                        "between components inside <mj-raw>, and variables inside content "
                                        "elements (mj-text, mj-button, mj-raw) or attributes such as href and src"))
            else:
                html = html.replace(placeholder, markup)
        return html, problems


def _check_tags(soup: BeautifulSoup, protected: _Protected) -> list[Problem]:
    known = _components()
    problems = []
    root = next((child for child in soup.children if isinstance(child, Tag)), None)
    if root is None or root.name != "mjml":
        return [Problem(1, "an MJML body starts with <mjml>")]
    if root.find("mj-body", recursive=False) is None:
        return [Problem(protected.source_line(root), "<mjml> needs an <mj-body>")]
    for tag in root.find_all(True):
        name, line = tag.name, protected.source_line(tag)
        if name == "mj-include":
            problems.append(Problem(line, "<mj-include> is not allowed: templates cannot read files"))
        elif name.startswith("mj-") or name == "mjml":
            if name not in known:
                problems.append(Problem(line, f"unknown MJML tag <{name}>"))
            elif name == "mj-style" and tag.get("inline") == "inline":
                problems.append(Problem(line, '<mj-style inline="inline"> needs CSS inlining (mjml\'s '
                                              "css-inlining extra), which is not installed here; use a plain "
                                              "<mj-style> or inline style attributes"))
        else:
            parent = tag.find_parent(lambda t: t.name == "mjml" or t.name.startswith("mj-"))
            if parent is not None and parent.name not in CONTENT_TAGS:
                problems.append(Problem(line, f"<{name}> cannot stand directly inside <{parent.name}>: "
                                              "put HTML inside <mj-text> or <mj-raw>"))
    return problems


def compile_mjml(source: str) -> tuple[str, list[Problem]]:
    """(the responsive HTML with the Liquid markup back in place, problems)."""
    if len(source) > MAX_SOURCE:
        return "", [Problem(0, f"MJML source of {len(source):,} characters; at most {MAX_SOURCE:,}")]
    protected = _Protected(source)
    soup = BeautifulSoup(protected.text, "html.parser")
    problems = _check_tags(soup, protected)
    if problems:
        return "", problems
    from mjml import mjml_to_html

    try:
        result = mjml_to_html(protected.text, template_dir=None)
    except Exception as error:  # noqa: BLE001 - the port raises anything from KeyError to AssertionError
        reason = f"{type(error).__name__}: {error}"[:200]
        return "", [Problem(0, f"the MJML could not be compiled ({reason})")]
    problems = [Problem(0, f"MJML: {e}") for e in result.errors]
    html, dropped = protected.restore(result.html)
    return html, problems + dropped
