"""A small subset of AIP-160 filters: terms joined by AND.

    state = STATE_RUNNING AND labels.team = growth AND labels.tier:*

Each term is `field = value`, `field != value` or `field:*` (present); with
`comparisons=True` also `<`, `<=`, `>` and `>=` (`create_time > "2026-03-01T00:00:00Z"`).
Values are bare words or double-quoted strings. Which fields exist and what
they mean is up to the service; this module only parses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from svc_kit.errors import FieldViolation, InvalidArgument

MAX_FILTER_LENGTH = 2000

_TOKEN_LAYOUT = r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>{ops})
      | (?P<word>[A-Za-z0-9_.*-]+)
    )"""
_TOKEN = re.compile(_TOKEN_LAYOUT.format(ops="!=|=|:"), re.VERBOSE)
_TOKEN_COMPARING = re.compile(_TOKEN_LAYOUT.format(ops="!=|<=|>=|=|:|<|>"), re.VERBOSE)


@dataclass(frozen=True)
class Term:
    field: str
    op: str  # "=", "!=" or "has"; with comparisons also "<", "<=", ">", ">="
    value: str = ""


def _error(message: str) -> InvalidArgument:
    return InvalidArgument(FieldViolation("filter", message))


def _tokens(text: str, pattern: re.Pattern = _TOKEN) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = pattern.match(text, pos)
        if not match:
            raise _error(f"unexpected character {text[pos:].lstrip()[0]!r} at position {pos}")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value, match.start(kind)))
        pos = match.end()
    return tokens


def parse_filter(text: str, comparisons: bool = False) -> list[Term]:
    """The terms of `text`; `comparisons` also admits <, <=, > and >=."""
    if len(text) > MAX_FILTER_LENGTH:
        raise _error(f"at most {MAX_FILTER_LENGTH} characters")
    tokens = _tokens(text, _TOKEN_COMPARING if comparisons else _TOKEN)
    terms: list[Term] = []
    i = 0
    while i < len(tokens):
        if terms:
            kind, value, pos = tokens[i]
            if kind != "word" or value != "AND":
                raise _error(f"expected AND at position {pos}, found {value!r}")
            i += 1
        if i + 2 > len(tokens):
            raise _error("incomplete term at the end; terms look like `state = STATE_RUNNING`")
        (k1, field, p1), (k2, op, p2) = tokens[i], tokens[i + 1]
        if k1 != "word" or field in ("AND", "OR", "NOT"):
            raise _error(f"expected a field name at position {p1}, found {field!r}")
        if k2 != "op":
            ops = "=, !=, <, <=, >, >= or :" if comparisons else "=, != or :"
            raise _error(f"expected {ops} after {field!r} at position {p2}")
        if i + 2 >= len(tokens):
            raise _error(f"missing value after {field} {op}")
        k3, value, p3 = tokens[i + 2]
        if k3 not in ("word", "string") or (k3 == "word" and value in ("AND", "OR", "NOT")):
            raise _error(f"expected a value at position {p3}, found {value!r}")
        if op == ":":
            if value != "*":
                raise _error(f"only `{field}:*` (field present) is supported with `:`")
            terms.append(Term(field, "has"))
        else:
            terms.append(Term(field, op, value))
        i += 3
    return terms
