"""svc_kit.idempotency: create-once by request id."""

from __future__ import annotations

import pytest

from svc_kit.errors import AlreadyExists, InvalidArgument
from svc_kit.idempotency import create_once, fingerprint


class Store:
    """A unit of work over a dict; `race` makes the next add lose to a concurrent one."""

    def __init__(self):
        self.rows: dict[str, tuple[str, str, str]] = {}  # id -> (request id, fingerprint, payload)
        self.commits = 0
        self.race: tuple[str, str, str, str] | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def commit(self):
        self.commits += 1

    def find(self, request_id):
        return next(((row_id, fp) for row_id, (rid, fp, _) in self.rows.items() if rid == request_id), None)

    def add(self, row_id, request_id, fp):
        if self.race is not None:
            other_id, *row = self.race
            self.rows[other_id] = tuple(row)
            self.race = None
        if row_id in self.rows or any(rid == request_id for rid, _, _ in self.rows.values() if request_id):
            raise AlreadyExists(row_id)
        self.rows[row_id] = (request_id, fp, "")


def create(store: Store, request_id: str, payload: str, row_id: str = "", validate_only: bool = False) -> str:
    ids = iter(["r1", "r2", "r3"])
    return create_once(store, request_id, fingerprint(row_id, payload),
                       find=lambda: store.find(request_id), build=lambda: row_id or next(ids),
                       name=lambda made: f"rows/{made}", exists=lambda made: made in store.rows,
                       add=store.add, validate_only=validate_only)


def test_the_same_request_again_answers_as_the_first():
    store = Store()
    assert create(store, "req-1", "a") == "r1"
    assert create(store, "req-1", "a") == "r1"
    assert list(store.rows) == ["r1"] and store.commits == 1


def test_a_different_request_under_the_same_id_is_refused():
    store = Store()
    create(store, "req-1", "a")
    with pytest.raises(InvalidArgument, match="'req-1' was already used for a different request "
                                              r"\(it created rows/r1\)"):
        create(store, "req-1", "b")


def test_without_request_id_a_taken_id_is_already_exists():
    store = Store()
    create(store, "", "a", row_id="fixed")
    with pytest.raises(AlreadyExists, match="rows/fixed already exists"):
        create(store, "", "a", row_id="fixed")


def test_validate_only_stores_nothing():
    store = Store()
    assert create(store, "req-1", "a", validate_only=True) == "r1"
    assert store.rows == {} and store.commits == 0


def test_a_concurrent_create_with_the_same_request_id_wins_and_is_answered():
    store = Store()
    store.race = ("other", "req-1", fingerprint("", "a"), "")
    assert create(store, "req-1", "a") == "other"
