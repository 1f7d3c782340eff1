"""Create-once by request id: a create that carries a `request_id` stores it with
a fingerprint of the request; the same request again answers with what the first
one made, and a different request under the same id is refused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from svc_kit.errors import AlreadyExists, FieldViolation, InvalidArgument

MAX_REQUEST_ID = 128  # a rule of every request_id in the protos (buf.validate), enforced by svc_kit.validation
T = TypeVar("T")


def fingerprint(*parts: Any) -> str:
    """SHA-256 of the parts as canonical JSON (keys sorted; other values as str)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def replayed(found: T, first_fingerprint: str, fingerprint_: str, request_id: str, made: str) -> T:
    """What the first request made, if this one is the same request."""
    if first_fingerprint != fingerprint_:
        raise InvalidArgument(FieldViolation(
            "request_id", f"{request_id!r} was already used for a different request (it created {made}); "
                          "use a new request_id"))
    return found


def create_once(uow, request_id: str, fingerprint_: str, *,
                find: Callable[[], tuple[T, str] | None], build: Callable[[], T], name: Callable[[T], str],
                exists: Callable[[T], bool], add: Callable[[T, str, str], None], validate_only: bool = False) -> T:
    """Builds and adds a resource in one unit of work, unless `request_id` was used
    before (then answers as that request did). `find` looks the request id up,
    `exists` the built resource's id, `add(resource, request_id, fingerprint)`
    stores it; all three run inside the unit of work."""
    with uow:
        if request_id and (found := find()):
            return replayed(found[0], found[1], fingerprint_, request_id, name(found[0]))
        made = build()
        if validate_only:
            return made
        if exists(made):
            raise AlreadyExists(f"{name(made)} already exists")
        try:
            add(made, request_id, fingerprint_)
            uow.commit()
            return made
        except AlreadyExists:
            if not request_id:
                raise
    # A concurrent create with the same request_id won the race: answer as it did.
    with uow:
        found = find()
        if found is None:
            raise AlreadyExists(f"{name(made)} already exists")
        return replayed(found[0], found[1], fingerprint_, request_id, name(found[0]))
