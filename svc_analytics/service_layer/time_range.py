"""The times the event store can hold (a ClickHouse DateTime, 1970 to 2105): a query bound outside
them is refused as INVALID_ARGUMENT, where the store adapter would otherwise fail (found by fuzzing the
REST edge: `?interval.startTime=0202-12-08T19:06:55Z` answered 500)."""

from __future__ import annotations

from datetime import datetime, timezone

from svc_kit.errors import FieldViolation, InvalidArgument

EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2105, 12, 31, tzinfo=timezone.utc)


def check_time(value: datetime | None, field: str) -> None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise InvalidArgument(FieldViolation(field, f"{value.isoformat()} is outside the times events can have "
                                                    "(1970-01-01 to 2105-12-31 UTC)"))


def check_bounds(start: datetime | None, end: datetime | None, field: str = "interval") -> None:
    check_time(start, f"{field}.start_time")
    check_time(end, f"{field}.end_time")
