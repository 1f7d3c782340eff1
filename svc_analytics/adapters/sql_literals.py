"""SQL literals for ClickHouse and chdb, written by hand because chdb has no server-side
parameters and both engines must run the same SQL text. Every value that reaches a
statement goes through `literal`; nothing else is ever formatted into SQL.

Strings are single-quoted with backslash escapes (the only escapes both engines read the same
way): a backslash and a quote are escaped, and every control character becomes \\xHH, so no
value can end the literal, and NUL never reaches chdb's C string handling."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

_ESCAPES = {"\\": "\\\\", "'": "\\'"}
_DATETIME_RANGE = (datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2105, 12, 31, tzinfo=timezone.utc))


def _escape_char(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError("a string holding a lone surrogate cannot be stored (not UTF-8)")
    return char


def string(value: str) -> str:
    """'value' with quotes, backslashes and control characters escaped."""
    return "'" + "".join(map(_escape_char, value)) + "'"


def integer(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int, not {type(value).__name__}")
    return str(value)


def epoch_seconds(value: datetime) -> int:
    """Whole seconds since 1970 of an aware datetime, in the range a ClickHouse DateTime holds."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store only takes aware datetimes")
    if not _DATETIME_RANGE[0] <= value < _DATETIME_RANGE[1]:
        raise ValueError(f"{value.isoformat()} is outside the range the store holds (1970 to 2105)")
    delta = value - _DATETIME_RANGE[0]
    return delta.days * 86_400 + delta.seconds


def epoch_micros(value: datetime) -> int:
    return epoch_seconds(value) * 1_000_000 + (value - _DATETIME_RANGE[0]).microseconds


def date_time(value: datetime) -> str:
    """A DateTime value: toDateTime(<seconds since 1970>) (read the same by both engines, any session time zone)."""
    return f"toDateTime({epoch_seconds(value)})"


def utc_text(value: datetime) -> str:
    """'YYYY-MM-DD hh:mm:ss' in UTC, for VALUES rows of a DateTime('UTC') column (no expression parsing)."""
    epoch_seconds(value)  # range and awareness checks
    return "'" + value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") + "'"


def literal(value: object) -> str:
    """A str, int or bool as an SQL literal (bools as 1/0)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return integer(value)
    if isinstance(value, str):
        return string(value)
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def in_list(values: Iterable[object]) -> str:
    """(v1, v2, ...) for IN; callers must not pass an empty sequence."""
    items = [literal(v) for v in values]
    if not items:
        raise ValueError("IN () with no values")
    return "(" + ", ".join(items) + ")"
