"""Page sizes and opaque page tokens for keyset pagination.

A token carries the sort key of the last item served and a fingerprint of the
query, so a token cannot be replayed against a different filter."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")

from svc_kit.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(requested: int) -> int:
    """The page size to use; a negative one is refused by every List request's rule in the protos."""
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def fingerprint(*parts: Any) -> str:
    return hashlib.blake2b(json.dumps(parts, sort_keys=True).encode(), digest_size=6).hexdigest()


def encode_token(position: list[Any], query: str) -> str:
    raw = json.dumps({"p": position, "q": query}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, query: str) -> list[Any] | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        position, made_for = data["p"], data["q"]
        if not isinstance(position, list):
            raise TypeError
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise InvalidArgument(FieldViolation("page_token", "not a token this service issued")) from None
    if made_for != query:
        raise InvalidArgument(
            FieldViolation("page_token", "was issued for a different filter or parent; start again without a token")
        )
    return position


def timed_keyset_page(fetch: Callable[[tuple[datetime, str] | None, int], list[T]],
                      key: Callable[[T], tuple[datetime, str]], requested_size: int, token: str,
                      query_key: str) -> tuple[list[T], str]:
    """One page of a list ordered by (time, id): `fetch(after, limit)` reads `limit` rows past the
    position `after` (None for the start), in the list's own direction; `query_key` is the
    fingerprint of what the token must be used with again."""
    size = page_size(requested_size)
    position = decode_token(token, query_key)
    after = None
    if position is not None:
        try:
            after = (datetime.fromisoformat(position[0]), str(position[1]))
        except (IndexError, TypeError, ValueError):
            raise InvalidArgument(FieldViolation("page_token", "not a token this service issued")) from None
    rows = fetch(after, size + 1)
    page = rows[:size]
    if len(rows) <= size:
        return page, ""
    time, last_id = key(page[-1])
    return page, encode_token([time.isoformat(), last_id], query_key)


def keyset_page(fetch: Callable[[str, int], list[T]], key: Callable[[T], str], requested_size: int, token: str,
                *query: Any) -> tuple[list[T], str]:
    """One page of a list ordered by a text key: `fetch(after, limit)` reads
    `limit` rows after the key `after` ("" for the start); `query` is what the
    token must be used with again (workspace, parent, filters)."""
    size = page_size(requested_size)
    query_key = fingerprint(*query)
    position = decode_token(token, query_key)
    rows = fetch(str(position[0]) if position else "", size + 1)
    page = rows[:size]
    return page, encode_token([key(page[-1])], query_key) if len(rows) > size else ""


def filtered(fetch: Callable[[Any, int], list[T]], keep: Callable[[T], bool],
             key: Callable[[T], Any]) -> Callable[[Any, int], list[T]]:
    """`fetch(after, limit)` of the items `keep` accepts: reads on past the ones it drops until
    `limit` are kept or the list ends (a page token then points at the last item kept, so the
    next page reads the dropped ones again, and drops them again)."""

    def fetch_kept(after: Any, limit: int) -> list[T]:
        kept: list[T] = []
        while len(kept) < limit:
            rows = fetch(after, limit)
            kept.extend(row for row in rows if keep(row))
            if len(rows) < limit:
                break
            after = key(rows[-1])
        return kept[:limit]

    return fetch_kept
