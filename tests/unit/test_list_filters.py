"""svc_kit.filtering.matcher (typed fields, labels, times) and svc_kit.pagination.filtered (a
filtered keyset fetch that reads past dropped items), as the integrations service's lists use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.errors import InvalidArgument
from svc_kit.filtering import Field, matcher
from svc_kit.pagination import filtered, timed_keyset_page

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass
class Item:
    id: str
    state: str
    kinds: tuple[str, ...] = ()
    create_time: datetime = T0
    labels: dict = field(default_factory=dict)


FIELDS = {"state": Field(lambda i: i.state, "enum", "STATE_", ("ACTIVE", "PAUSED")),
          "kinds": Field(lambda i: i.kinds),
          "create_time": Field(lambda i: i.create_time.replace(tzinfo=None), "time")}  # a store's naive UTC


def keep(text: str, items: list[Item]) -> list[str]:
    test = matcher(text, FIELDS, lambda i: i.labels)
    return [i.id for i in items if test(i)]


def problem(text: str) -> str:
    with pytest.raises(InvalidArgument) as caught:
        matcher(text, FIELDS, None)
    (violation,) = caught.value.violations
    assert violation.field == "filter"
    return violation.description


def test_terms_over_enums_repeated_fields_labels_and_times():
    items = [Item("a", "ACTIVE", ("x", "y"), T0, {"team": "growth"}),
             Item("b", "PAUSED", ("y",), T0 + timedelta(days=2), {"team": "ops"}),
             Item("c", "ACTIVE", (), T0 + timedelta(days=5))]
    assert keep("state = STATE_ACTIVE", items) == ["a", "c"]
    assert keep("state = paused", items) == ["b"]  # with or without the prefix, any case
    assert keep("state != STATE_ACTIVE", items) == ["b"]
    assert keep("kinds = y", items) == ["a", "b"] and keep("kinds != x", items) == ["b", "c"]
    assert keep("kinds:*", items) == ["a", "b"]
    assert keep("labels.team = growth", items) == ["a"] and keep("labels.team:*", items) == ["a", "b"]
    assert keep("labels.team != growth", items) == ["b", "c"]
    assert keep('create_time > "2026-12-02T00:00:00Z" AND create_time < "2026-12-04T00:00:00+00:00"', items) == ["b"]
    assert keep('create_time >= "2026-12-01T00:00:00Z" AND state = STATE_ACTIVE', items) == ["a", "c"]
    assert keep("", items) == ["a", "b", "c"]


def test_unknown_fields_values_and_operators_name_the_filter():
    assert "cannot filter on 'colour'; use state, kinds, create_time" in problem("colour = red")
    assert "unknown state 'STATE_LOST'; one of STATE_ACTIVE, STATE_PAUSED" in problem("state = STATE_LOST")
    assert "labels" in problem("labels.team = growth")  # not a labelled list
    assert "RFC 3339" in problem('create_time > "yesterday"')
    assert "needs a zone" in problem('create_time > "2026-12-01T00:00:00"')
    with pytest.raises(InvalidArgument):
        matcher("state > STATE_ACTIVE", FIELDS)  # a comparison on an enum


def test_a_filtered_fetch_reads_past_dropped_items_and_its_token_resumes_after_the_last_kept():
    items = [Item(f"i{n:02d}", "ACTIVE" if n % 5 == 0 else "PAUSED", create_time=T0 + timedelta(minutes=n))
             for n in range(40)]
    reads = []

    def fetch(after, limit):
        reads.append(limit)
        rest = [i for i in items if after is None or (i.create_time, i.id) > after]
        return rest[:limit]

    position = lambda i: (i.create_time, i.id)  # noqa: E731
    fetch_active = filtered(fetch, matcher("state = STATE_ACTIVE", FIELDS), position)
    pages, token = [], ""
    while True:
        page, token = timed_keyset_page(fetch_active, position, 3, token, "q")
        pages.append([i.id for i in page])
        if not token:
            break
    assert pages == [["i00", "i05", "i10"], ["i15", "i20", "i25"], ["i30", "i35"]]
    assert len(reads) > len(pages)  # it read on past the dropped ones
