"""A small subset of AIP-160 filters: terms joined by AND.

    state = STATE_RUNNING AND labels.team = growth AND labels.tier:*

Each term is `field = value`, `field != value` or `field:*` (present); with
`comparisons=True` also `<`, `<=`, `>` and `>=` (`create_time > "2026-03-01T00:00:00Z"`).
Values are bare words or double-quoted strings. Which fields exist and what
they mean is up to the service; this module only parses."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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


@dataclass(frozen=True)
class Field:
    """A field a list filter may name: how to read it from an item (a text, or several for a
    repeated field, which matches when any of its values does), and its kind:
    `text` (= and !=), `enum` (= and !=, the value with or without `prefix`, checked against
    `values`), or `time` (also <, <=, > and >=, against an RFC 3339 value)."""

    get: Callable[[Any], Any]
    kind: str = "text"
    prefix: str = ""  # enum: `STATE_` in `state = STATE_ACTIVE`
    values: tuple[str, ...] = ()  # enum: the item's own values (`ACTIVE`, ...), upper-case


def matcher(text: str, fields: Mapping[str, Field],
            labels: Callable[[Any], Mapping[str, str]] | None = None) -> Callable[[Any], bool]:
    """A predicate on items for the filter `text` (terms joined by AND) over `fields` and, when
    `labels` is given, `labels.<key>` (=, != and `:*`). An unknown field, a wrong operator or an
    unknown enum value is INVALID_ARGUMENT naming `filter`."""
    tests: list[Callable[[Any], bool]] = []
    comparisons = any(f.kind == "time" for f in fields.values())
    for term in parse_filter(text, comparisons=comparisons):
        if labels is not None and term.field.startswith("labels.") and len(term.field) > len("labels."):
            tests.append(_label_test(term, labels))
            continue
        spec = fields.get(term.field)
        if spec is None:
            known = ", ".join([*fields, *(["labels.<key>"] if labels is not None else [])])
            raise _error(f"cannot filter on {term.field!r}; use {known}")
        tests.append(_field_test(term, spec))
    return lambda item: all(test(item) for test in tests)


def _label_test(term: Term, labels: Callable[[Any], Mapping[str, str]]) -> Callable[[Any], bool]:
    key = term.field[len("labels."):]
    if term.op == "has":
        return lambda item: key in labels(item)
    if term.op not in ("=", "!="):
        raise _error(f"compare {term.field} with =, != or :*")
    equal = term.op == "="
    return lambda item: (labels(item).get(key) == term.value) == equal


def _values(raw: Any) -> list:
    return list(raw) if isinstance(raw, (list, tuple, set, frozenset)) else [raw]


def _field_test(term: Term, spec: Field) -> Callable[[Any], bool]:
    if term.op == "has":
        return lambda item: any(v not in (None, "") for v in _values(spec.get(item)))
    if spec.kind == "time":
        return _time_test(term, spec)
    if term.op not in ("=", "!="):
        raise _error(f"compare {term.field} with = or !=")
    value = term.value
    if spec.kind == "enum":
        value = value.upper().removeprefix(spec.prefix)
        if spec.values and value not in spec.values:
            raise _error(f"unknown {term.field} {term.value!r}; one of "
                         + ", ".join(spec.prefix + v for v in spec.values))
    equal = term.op == "="
    return lambda item: (value in [str(v) for v in _values(spec.get(item))]) == equal


_COMPARE = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _time_test(term: Term, spec: Field) -> Callable[[Any], bool]:
    try:
        at = datetime.fromisoformat(term.value.replace("Z", "+00:00"))
    except ValueError:
        raise _error(f"{term.field}: {term.value!r} is not an RFC 3339 time such as 2026-03-01T00:00:00Z") from None
    if at.tzinfo is None:
        raise _error(f"{term.field}: {term.value!r} needs a zone, such as Z")
    compare = _COMPARE[term.op]

    def test(item: Any) -> bool:
        found = spec.get(item)
        if found is None:
            return False
        return compare(found if found.tzinfo else found.replace(tzinfo=UTC), at)  # stores may give naive UTC

    return test
