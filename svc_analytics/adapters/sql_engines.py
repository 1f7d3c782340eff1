"""The small seam the columnar event store runs its SQL through, implemented twice:

* ClickHouseServer: a ClickHouse server over the native protocol (clickhouse-driver), from a
  `clickhouse://host:port/database` URL (the database is created when missing).
* EmbeddedChdb: chdb in-process (ClickHouse as a library), its data in a folder; the store
  `make run` uses, with no server to run. chdb allows one open session per process.

Both take the same SQL text for statements and queries and return rows as lists of plain values: ints (64-bit ones may
come back from chdb as strings: callers convert with int()), strings, lists, and a sumMap's
(keys, values) pair. Rows are written with `insert(table, columns, rows)`: the server's
native protocol takes data blocks, not VALUES inlined in the query text (18.16 then waits for
blocks that never come), so the server gets the rows as data and chdb gets them as a VALUES
statement built with sql_literals. Calls are serialised with a lock (neither client is thread-safe)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from svc_analytics.adapters.sql_literals import literal, utc_text

Row = list


class SqlEngine(Protocol):
    name: str

    def execute(self, sql: str) -> list[Row]:
        """Runs one statement; a query's rows, [] for the others."""

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """Writes rows of str, int, bool and aware datetime values (into DateTime('UTC') columns)."""

    def close(self) -> None: ...


class ClickHouseServer:
    name = "clickhouse"

    def __init__(self, url: str, connect_timeout: float = 10.0, send_receive_timeout: float = 300.0):
        from clickhouse_driver import Client

        parts = urlsplit(url)
        if parts.scheme != "clickhouse" or not parts.hostname:
            raise ValueError(f"expected clickhouse://host:port/database, not {url!r}")
        self.database = unquote(parts.path.lstrip("/")) or "default"
        options = dict(host=parts.hostname, port=parts.port or 9000, user=unquote(parts.username or "default"),
                       password=unquote(parts.password or ""), connect_timeout=connect_timeout,
                       send_receive_timeout=send_receive_timeout)
        if self.database != "default":
            with_default = Client(**options, database="default")
            try:
                with_default.execute(f"CREATE DATABASE IF NOT EXISTS {identifier(self.database)}")
            finally:
                with_default.disconnect()
        self._client = Client(**options, database=self.database)
        self._lock = threading.Lock()

    def execute(self, sql: str) -> list[Row]:
        with self._lock:
            return [list(row) for row in self._client.execute(sql)]

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        with self._lock:
            self._client.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES", list(rows))

    def close(self) -> None:
        self._client.disconnect()


class EmbeddedChdb:
    """chdb in this process. chdb keeps one embedded server per process: a second EmbeddedChdb on
    another folder fails until the first is closed (the same folder may be opened again)."""

    name = "chdb"

    def __init__(self, folder: str | Path):
        from chdb import session

        Path(folder).mkdir(parents=True, exist_ok=True)
        self.folder = Path(folder)
        self._session = session.Session(str(self.folder))
        self._lock = threading.Lock()

    def execute(self, sql: str) -> list[Row]:
        with self._lock:
            result = self._session.query(sql, "JSONCompact")
        text = result.data() if result is not None else ""
        if not text.strip():
            return []
        return json.loads(text)["data"]

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        values = ",".join("(" + ",".join(_value(v) for v in row) + ")" for row in rows)
        self.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}")

    def close(self) -> None:
        with self._lock:
            self._session.close()


def _value(value: object) -> str:
    return utc_text(value) if isinstance(value, datetime) else literal(value)


def identifier(name: str) -> str:
    """A database name as a back-quoted identifier (letters, digits and _ only)."""
    if not name or not all(c.isascii() and (c.isalnum() or c == "_") for c in name):
        raise ValueError(f"database name {name!r}: letters, digits and _ only")
    return f"`{name}`"


def embedded_url(state_dir: str | Path) -> str:
    """The store `make run` uses: chdb with its data in <state dir>/analytics-chdb."""
    return f"chdb://{Path(state_dir).resolve() / 'analytics-chdb'}"


def open_engine(url: str) -> SqlEngine:
    """`clickhouse://host:port/database` for a server, `chdb:///absolute/folder` (or `chdb:relative/folder`)
    for the embedded engine."""
    if url.startswith("clickhouse://"):
        return ClickHouseServer(url)
    if url.startswith("chdb:"):
        folder = url.removeprefix("chdb:").removeprefix("//")
        if not folder:
            raise ValueError("chdb: needs a folder, e.g. chdb:///var/lib/mkt/analytics")
        return EmbeddedChdb(folder)
    raise ValueError(f"unknown analytics store URL {url!r}: expected clickhouse://... or chdb:...")

