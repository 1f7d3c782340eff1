"""What the SQL repositories share: the connection, inserts that skip a
conflicting row on both dialects, and time comparisons from filters."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}  # both have ON CONFLICT DO NOTHING
TIME_OPS = {"<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__", "=": "__eq__", "!=": "__ne__"}


class SqlRepository:
    def __init__(self, connection: Connection):
        self.connection = connection
        self.dialect = connection.dialect.name

    def insert(self, table: Table):
        return _INSERT[self.dialect](table)


def time_terms(column, comparisons: tuple[tuple[str, datetime], ...]) -> list:
    return [getattr(column, TIME_OPS[op])(at) for op, at in comparisons]


def aware(value) -> datetime | None:
    """An aggregate over a UTCDateTime column comes back untyped (naive, or text on SQLite)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)
