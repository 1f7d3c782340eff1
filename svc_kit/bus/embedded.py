"""The embedded bus: one SQLite file (WAL) shared by the service processes of one machine.

Layout:

- `topics`, `schemas` - a schema registry per topic: (topic, version, fingerprint, definition);
- `messages` - the log of every topic: a global, increasing `seq` (the message id), the key, a
  hash slot of the key, the Avro value encoded with the schema version that wrote it, properties
  (JSON) and the publish time;
- `subscriptions` - one row per (topic, name) with `read_pos`: messages with a higher seq have not
  yet been dispatched to the subscription;
- `pending` - per subscription, every dispatched message not yet acked: redelivery count, when it
  may be delivered again (`visible_after`, for nacks) and the consumer holding it (the lease);
- `consumers` - the open consumers of each subscription with their process and lease expiry,
  renewed by a heartbeat thread.

Consumers lease up to `batch_size` messages per write transaction (`BEGIN IMMEDIATE`, so two
processes never lease one message twice) and serve them from memory; an empty poll is a read with
no lock, repeated with a backoff from 1 ms to 20 ms, and every 100 ms once a consumer has found
nothing for 2 s. Key_Shared: a consumer takes the keys whose hash slot falls to it among the
subscription's live consumers (`slot % count == its rank`), and
never a key of which another live consumer still holds a message, so each key goes to one consumer
at a time, in publish order (a nacked message comes back after its delay, possibly after later ones
of its key, as on Pulsar). Acking deletes the pending row; acks are grouped (written when 256 wait,
when the consumer next leases, or within 50 ms by the bus's background thread), like Pulsar's ack
grouping, so a crash may redeliver what was acked in its last 50 ms. A closed consumer's leases
are released at once; a dead process's when its lease expires (`lease_ttl`), or within a second
when its process is seen gone on this host.

A send is one transaction (durable once it returns, against a crash of the process; the file runs
with synchronous=NORMAL, so not against a power cut). SQLite's busy handler is off: waits for the
write lock are retried every 0.2-2 ms instead of its sleeps of up to 100 ms. Messages are never
deleted (the seq of the newest row must never be reused: a trim, if added, keeps the newest row).
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import fastavro

from svc_kit.bus import compat
from svc_kit.bus.port import Bus, BusError, Consumer, Message, OutgoingMessage, Producer, SubscriptionOptions
from svc_kit.bus.schema import EventSchema

log = logging.getLogger("svc_kit.bus.embedded")
T = TypeVar("T")

LEASE_TTL = 30.0  # seconds a consumer's leases outlive its last heartbeat
BATCH_SIZE = 256  # messages leased per transaction
DISPATCH_CHUNK = 2048  # messages moved from the log into a subscription per transaction
FIRST_PAUSE, MAX_PAUSE = 0.001, 0.02  # polling backoff of receive()
# A consumer that found nothing for IDLE_AFTER seconds polls every IDLE_PAUSE instead: an idle
# platform's services hold dozens of consumers, and polling each 50 times a second cost about half a
# core (a first message after a quiet spell waits up to IDLE_PAUSE longer; the next ones do not).
IDLE_AFTER, IDLE_PAUSE = 2.0, 0.1
PID_CHECK_INTERVAL = 1.0
LOCK_TIMEOUT = 30.0  # seconds a write waits for the file's write lock
ACK_GROUP, ACK_DELAY = 256, 0.05  # acks are written together: when this many wait, or the oldest is this old
FORMAT = "1"

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS schemas (
    topic_id INTEGER NOT NULL, version INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    definition TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (topic_id, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, key TEXT NOT NULL,
    slot INTEGER NOT NULL, schema_version INTEGER NOT NULL, value BLOB NOT NULL,
    properties TEXT, publish_time REAL NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_topic ON messages (topic_id, seq);
CREATE TABLE IF NOT EXISTS subscriptions (
    id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, name TEXT NOT NULL,
    read_pos INTEGER NOT NULL, created REAL NOT NULL, UNIQUE (topic_id, name));
CREATE TABLE IF NOT EXISTS pending (
    sub_id INTEGER NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, slot INTEGER NOT NULL,
    redelivery_count INTEGER NOT NULL DEFAULT 0, visible_after REAL NOT NULL DEFAULT 0, consumer TEXT,
    PRIMARY KEY (sub_id, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_leased ON pending (sub_id, consumer, key) WHERE consumer IS NOT NULL;
CREATE TABLE IF NOT EXISTS consumers (
    id TEXT PRIMARY KEY, sub_id INTEGER NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
    expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS consumers_by_subscription ON consumers (sub_id, id);
"""

_CANDIDATES = """
SELECT p.seq, p.redelivery_count, m.key, m.schema_version, m.value, m.properties, m.publish_time
FROM pending AS p JOIN messages AS m ON m.seq = p.seq
WHERE p.sub_id = :sub AND p.consumer IS NULL AND p.visible_after <= :now AND p.slot % :count = :rank
  AND p.key NOT IN (SELECT key FROM pending WHERE sub_id = :sub AND consumer IS NOT NULL AND consumer != :me)
ORDER BY p.seq LIMIT :limit
"""

_ANY_CANDIDATE = """
SELECT EXISTS (
  SELECT 1 FROM pending AS p
  WHERE p.sub_id = :sub AND p.consumer IS NULL AND p.visible_after <= :now AND p.slot % :count = :rank
    AND p.key NOT IN (SELECT key FROM pending WHERE sub_id = :sub AND consumer IS NOT NULL AND consumer != :me))
OR EXISTS (
  SELECT 1 FROM messages WHERE topic_id = :topic AND seq > (SELECT read_pos FROM subscriptions WHERE id = :sub))
"""


def _slot(key: str) -> int:
    return zlib.crc32(key.encode())


class _Database:
    """One connection per bus, guarded by a lock (SQLite serialises writers anyway)."""

    def __init__(self, path: Path):
        self.lock = threading.RLock()
        self.connection = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        for attempt in range(50):
            try:
                self.connection.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError:  # another process is switching it at the same moment
                if attempt == 49:
                    raise
                time.sleep(0.05)
        self.connection.execute("PRAGMA synchronous=NORMAL")
        # No busy handler: SQLite's sleeps up to 100 ms at a time, which would show in the bus latency.
        # Waits for the lock are retried here instead, every 0.2-2 ms (see retrying).
        self.connection.execute("PRAGMA busy_timeout=0")

    def retrying(self, operation: Callable[[], T]) -> T:
        """Runs `operation` (under the lock), again every 0.2-2 ms while the file is locked by another process."""
        deadline, pause = time.monotonic() + LOCK_TIMEOUT, 0.0002
        while True:
            try:
                with self.lock:
                    return operation()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.002)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.retrying(lambda: self.connection.execute("BEGIN IMMEDIATE"))
            try:
                yield self.connection
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.connection.close()


@dataclass(frozen=True)
class _Handle:
    sub_id: int
    seq: int
    consumer_id: str


class EmbeddedBus(Bus):
    def __init__(self, path: Path | str, compatibility: str = "FULL", *, lease_ttl: float = LEASE_TTL,
                 batch_size: int = BATCH_SIZE):
        compatibility = compatibility.upper()
        if compatibility not in compat.STRATEGIES:
            raise ValueError(f"unknown schema compatibility {compatibility!r}; one of {', '.join(compat.STRATEGIES)}")
        self.path = Path(path)
        self.compatibility = compatibility
        self.lease_ttl = lease_ttl
        self.batch_size = batch_size
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = _Database(self.path)
        with self._db.write() as connection:
            for statement in filter(str.strip, _TABLES.split(";")):  # executescript would commit
                connection.execute(statement)
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (FORMAT,))
            found = connection.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()[0]
        if found != FORMAT:
            self._db.close()
            raise BusError(f"{self.path} holds bus format {found}, this code reads format {FORMAT}")
        self._topics: dict[str, int] = {}
        self._writers: dict[tuple[int, int], EventSchema] = {}
        self._pids: dict[tuple[int, str], tuple[float, bool]] = {}
        self._producers: set[_Producer] = set()
        self._consumers: set[_Consumer] = set()
        self._state = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # -- the port ---------------------------------------------------------------------------------

    def producer(self, topic: str, schema: EventSchema) -> Producer:
        self._check_open()
        with self._db.write() as connection:
            topic_id = self._topic_id(connection, topic)
            version = self._register(connection, topic, topic_id, schema)
        producer = _Producer(self, topic, topic_id, schema, version)
        with self._state:
            self._producers.add(producer)
        return producer

    def consumer(self, topic: str, subscription: str, schema: EventSchema,
                 options: SubscriptionOptions | None = None) -> Consumer:
        self._check_open()
        options = options or SubscriptionOptions()
        if options.initial_position not in ("earliest", "latest"):
            raise ValueError(f"initial_position must be 'earliest' or 'latest', not {options.initial_position!r}")
        consumer_id = uuid.uuid4().hex
        now = time.time()
        with self._db.write() as connection:
            topic_id = self._topic_id(connection, topic)
            version = self._register(connection, topic, topic_id, schema)
            start = 0
            if options.initial_position == "latest":
                start = connection.execute("SELECT COALESCE(MAX(seq), 0) FROM messages WHERE topic_id = ?",
                                           (topic_id,)).fetchone()[0]
            connection.execute("INSERT OR IGNORE INTO subscriptions (topic_id, name, read_pos, created) "
                               "VALUES (?, ?, ?, ?)", (topic_id, subscription, start, now))
            sub_id = connection.execute("SELECT id FROM subscriptions WHERE topic_id = ? AND name = ?",
                                        (topic_id, subscription)).fetchone()[0]
            connection.execute("INSERT INTO consumers VALUES (?, ?, ?, ?, ?)",
                               (consumer_id, sub_id, self.host, self.pid, now + self.lease_ttl))
        consumer = _Consumer(self, consumer_id, topic, topic_id, subscription, sub_id, schema, version, options)
        with self._state:
            self._consumers.add(consumer)
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(target=self._tick, name=f"bus-heartbeat-{self.path.name}",
                                                   daemon=True)
                self._heartbeat.start()
        return consumer

    def close(self) -> None:
        with self._state:
            if self._closed:
                return
            self._closed = True
            consumers, producers = list(self._consumers), list(self._producers)
        for consumer in consumers:
            consumer.close()
        for producer in producers:
            producer.close()
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        self._db.close()

    def __enter__(self) -> EmbeddedBus:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # -- registry ---------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("the bus is closed")

    def _topic_id(self, connection: sqlite3.Connection, topic: str) -> int:
        topic_id = self._topics.get(topic)
        if topic_id is None:
            created = connection.execute("INSERT OR IGNORE INTO topics (name) VALUES (?)", (topic,)).rowcount
            topic_id = connection.execute("SELECT id FROM topics WHERE name = ?", (topic,)).fetchone()[0]
            if not created:  # cached once committed: a rolled back transaction must not leave its id here
                self._topics[topic] = topic_id
        return topic_id

    def _register(self, connection: sqlite3.Connection, topic: str, topic_id: int, schema: EventSchema) -> int:
        """The version of `schema` on the topic, registering it if new and compatible (in a write transaction)."""
        rows = connection.execute("SELECT version, fingerprint, definition FROM schemas WHERE topic_id = ? "
                                  "ORDER BY version", (topic_id,)).fetchall()
        for version, fingerprint, _definition in rows:
            if fingerprint == schema.fingerprint:
                return version
        existing = [EventSchema(json.loads(definition)) for _v, _f, definition in rows]
        try:
            compat.check(schema, existing, self.compatibility)
        except compat.IncompatibleSchema as error:
            refused = compat.IncompatibleSchema(f"topic {topic!r}: {error}")
            refused.problems = getattr(error, "problems", [])  # type: ignore[attr-defined]
            raise refused from None
        version = rows[-1][0] + 1 if rows else 1
        connection.execute("INSERT INTO schemas VALUES (?, ?, ?, ?, ?)",
                           (topic_id, version, schema.fingerprint, json.dumps(schema.definition), time.time()))
        return version

    def _writer(self, topic_id: int, version: int) -> EventSchema:
        schema = self._writers.get((topic_id, version))
        if schema is None:
            row = self._db.retrying(lambda: self._db.connection.execute(
                "SELECT definition FROM schemas WHERE topic_id = ? AND version = ?", (topic_id, version)).fetchone())
            if row is None:
                raise BusError(f"schema version {version} of topic {topic_id} is not registered")
            schema = self._writers[(topic_id, version)] = EventSchema(json.loads(row[0]))
        return schema

    # -- liveness ---------------------------------------------------------------------------------

    def _process_alive(self, host: str, pid: int, now: float) -> bool:
        if host != self.host or pid == self.pid:
            return True
        checked = self._pids.get((pid, host))
        if checked is not None and now - checked[0] < PID_CHECK_INTERVAL:
            return checked[1]
        alive = True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            alive = False
        except PermissionError:
            pass
        if alive:
            try:  # a zombie has exited: its parent just has not reaped it yet
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    alive = stat.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
            except (OSError, IndexError):
                pass
        self._pids[(pid, host)] = (now, alive)
        return alive

    def _members(self, connection: sqlite3.Connection, sub_id: int, now: float) -> tuple[list[str], list[str]]:
        """The live and the dead consumers of a subscription."""
        live, dead = [], []
        for consumer_id, host, pid, expires_at in connection.execute(
                "SELECT id, host, pid, expires_at FROM consumers WHERE sub_id = ? ORDER BY id", (sub_id,)):
            alive = expires_at >= now and self._process_alive(host, pid, now)
            (live if alive else dead).append(consumer_id)
        return live, dead

    def _tick(self) -> None:
        """Background: writes grouped acks that waited ACK_DELAY, renews leases every third of their life."""
        next_beat = 0.0
        while not self._stop.wait(ACK_DELAY):
            with self._state:
                consumers = [c for c in self._consumers if not c.closed]
            try:
                for consumer in consumers:
                    consumer.flush_acks(older_than=ACK_DELAY)
                if consumers and time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.lease_ttl / 3
                    with self._db.write() as connection:
                        expires_at = time.time() + self.lease_ttl
                        for consumer in consumers:
                            renewed = connection.execute("UPDATE consumers SET expires_at = ? WHERE id = ?",
                                                         (expires_at, consumer.id)).rowcount
                            if not renewed:
                                consumer.lost = True
            except (sqlite3.Error, BusError) as error:  # closed under us, or the disk is full: retried next tick
                if not self._stop.is_set():
                    log.warning("bus heartbeat failed: %s", error)

    def _forget(self, item: _Producer | _Consumer) -> None:
        with self._state:
            self._producers.discard(item)  # type: ignore[arg-type]
            self._consumers.discard(item)  # type: ignore[arg-type]


class _Producer(Producer):
    def __init__(self, bus: EmbeddedBus, topic: str, topic_id: int, schema: EventSchema, version: int):
        self._bus, self.topic, self._topic_id, self._version = bus, topic, topic_id, version
        self._parsed = schema.parsed
        self._closed = False

    def _row(self, key: str, value: Mapping[str, Any] | bytes, properties: Mapping[str, str] | None) -> tuple:
        if not isinstance(key, str):
            raise TypeError(f"a message key is a str, not {type(key).__name__}")
        if isinstance(value, bytes):
            encoded = value
        else:
            buffer = io.BytesIO()
            fastavro.schemaless_writer(buffer, self._parsed, dict(value))
            encoded = buffer.getvalue()
        encoded_properties = None
        if properties:
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in properties.items()):
                raise TypeError("message properties map str to str")
            encoded_properties = json.dumps(dict(properties), separators=(",", ":"))
        return (self._topic_id, key, _slot(key), self._version, encoded, encoded_properties, time.time())

    def send(self, key: str, value: Mapping[str, Any] | bytes, properties: Mapping[str, str] | None = None) -> str:
        return self.send_batch([OutgoingMessage(key, value, properties or {})])[0]

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        """All in one transaction: one commit for the batch."""
        if self._closed:
            raise BusError(f"the producer of {self.topic!r} is closed")
        rows = [self._row(m.key, m.value, m.properties) for m in messages]
        self._bus._check_open()
        ids = []
        with self._bus._db.write() as connection:
            for row in rows:
                ids.append(str(connection.execute(
                    "INSERT INTO messages (topic_id, key, slot, schema_version, value, properties, publish_time) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", row).lastrowid))
        return ids

    def close(self) -> None:
        self._closed = True
        self._bus._forget(self)


class _Consumer(Consumer):
    def __init__(self, bus: EmbeddedBus, consumer_id: str, topic: str, topic_id: int, subscription: str,
                 sub_id: int, schema: EventSchema, version: int, options: SubscriptionOptions):
        self._bus, self.id, self.topic, self._topic_id = bus, consumer_id, topic, topic_id
        self.subscription, self._sub_id, self._schema, self._version = subscription, sub_id, schema, version
        self._options = options
        self._dead_letter_topic = options.dead_letter_for(topic, subscription)
        self._buffer: deque[tuple] = deque()
        self._lock = threading.RLock()
        self._empty_since: float | None = None  # when polls started finding nothing (None: it just got one)
        self._acks: list[int] = []  # acked, not yet written (grouped like Pulsar's ack grouping)
        self._acks_since = 0.0
        self._acks_lock = threading.Lock()
        self.closed = False
        self.lost = False  # set when another process declared this consumer dead and took its leases

    # -- receive ----------------------------------------------------------------------------------

    def receive(self, timeout: float) -> Message | None:
        now = time.monotonic()
        deadline = now + max(timeout, 0.0)
        pause = FIRST_PAUSE
        while True:
            with self._lock:
                self._check_open()
                if self.lost:
                    self._buffer.clear()  # its leases went to others: serving them would break key order
                while self._buffer or self._lease():
                    message = self._decode(self._buffer.popleft())
                    if message is not None:
                        self._empty_since = None
                        return message
            now = time.monotonic()
            if self._empty_since is None:
                self._empty_since = now
            remaining = deadline - now
            if remaining <= 0:
                return None
            idle = now - self._empty_since >= IDLE_AFTER
            time.sleep(min(IDLE_PAUSE if idle else pause, remaining))
            pause = min(pause * 2, MAX_PAUSE)

    def _lease(self) -> bool:
        """Leases the next batch owed to this consumer into the buffer; whether it got any."""
        bus, db = self._bus, self._bus._db

        def worth_a_write() -> bool:  # a read without the write lock: most polls end here
            now = time.time()
            live, dead = bus._members(db.connection, self._sub_id, now)
            if self.id not in live or dead:
                return True
            parameters = {"sub": self._sub_id, "topic": self._topic_id, "now": now, "count": len(live),
                          "rank": live.index(self.id), "me": self.id}
            return bool(db.connection.execute(_ANY_CANDIDATE, parameters).fetchone()[0])

        if not db.retrying(worth_a_write):
            self.flush_acks()
            return False
        acks = self._take_acks()
        try:
            with db.write() as connection:
                rows = self._lease_in(connection, acks)
        except BaseException:
            self._return_acks(acks)
            raise
        self._buffer.extend(rows)
        return bool(rows)

    def _lease_in(self, connection: sqlite3.Connection, acks: list[int]) -> list[tuple]:
        """Within a write transaction: writes `acks`, then leases the next batch; its rows."""
        bus = self._bus
        self._write_acks(connection, acks)
        now = time.time()
        self._renew(connection, now)
        live, dead = bus._members(connection, self._sub_id, now)
        for consumer_id in dead:
            self._release(connection, consumer_id)
        parameters = {"sub": self._sub_id, "now": now, "count": len(live), "rank": live.index(self.id),
                      "me": self.id, "limit": bus.batch_size}
        rows = connection.execute(_CANDIDATES, parameters).fetchall()
        if len(rows) < bus.batch_size and self._dispatch(connection):
            rows = connection.execute(_CANDIDATES, parameters).fetchall()
        if rows:
            connection.executemany("UPDATE pending SET consumer = ? WHERE sub_id = ? AND seq = ?",
                                   [(self.id, self._sub_id, row[0]) for row in rows])
        return rows

    def _renew(self, connection: sqlite3.Connection, now: float) -> None:
        bus = self._bus
        renewed = connection.execute("UPDATE consumers SET expires_at = ? WHERE id = ?",
                                     (now + bus.lease_ttl, self.id)).rowcount
        if not renewed:  # declared dead (a long pause): come back as a new member, with nothing held
            log.warning("consumer %s of %s/%s lost its leases; rejoining", self.id, self.topic, self.subscription)
            connection.execute("UPDATE pending SET consumer = NULL WHERE sub_id = ? AND consumer = ?",
                               (self._sub_id, self.id))
            connection.execute("INSERT INTO consumers VALUES (?, ?, ?, ?, ?)",
                               (self.id, self._sub_id, bus.host, bus.pid, now + bus.lease_ttl))
            self._buffer.clear()
        self.lost = False

    def _release(self, connection: sqlite3.Connection, consumer_id: str) -> None:
        connection.execute("UPDATE pending SET consumer = NULL WHERE sub_id = ? AND consumer = ?",
                           (self._sub_id, consumer_id))
        connection.execute("DELETE FROM consumers WHERE id = ?", (consumer_id,))

    def _dispatch(self, connection: sqlite3.Connection) -> bool:
        """Moves the next messages of the topic's log into the subscription; whether there were any."""
        (read_pos,) = connection.execute("SELECT read_pos FROM subscriptions WHERE id = ?",
                                         (self._sub_id,)).fetchone()
        moved = connection.execute(
            "INSERT INTO pending (sub_id, seq, key, slot) SELECT ?, seq, key, slot FROM messages "
            "WHERE topic_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (self._sub_id, self._topic_id, read_pos, DISPATCH_CHUNK)).rowcount
        if moved:
            connection.execute("UPDATE subscriptions SET read_pos = (SELECT MAX(seq) FROM pending WHERE sub_id = ?) "
                               "WHERE id = ?", (self._sub_id, self._sub_id))
        return moved > 0

    def _decode(self, row: tuple) -> Message | None:
        seq, redelivery_count, key, version, data, properties, publish_time = row
        try:
            if version == self._version:
                value = fastavro.schemaless_reader(io.BytesIO(data), self._schema.parsed, None)
            else:
                writer = self._bus._writer(self._topic_id, version)
                value = fastavro.schemaless_reader(io.BytesIO(data), writer.parsed, self._schema.parsed)
        except Exception as error:  # noqa: BLE001 - an unreadable message must not stop the consumer
            log.warning("message %s of %s (schema version %s) cannot be read as %s: %s; nacked",
                        seq, self.topic, version, self._schema.name, error)
            self._negative(seq, redelivery_count)
            return None
        return Message(topic=self.topic, message_id=str(seq), key=key, value=value,
                       properties=json.loads(properties) if properties else {}, redelivery_count=redelivery_count,
                       publish_time=datetime.fromtimestamp(publish_time, UTC),
                       handle=_Handle(self._sub_id, seq, self.id))

    # -- ack, nack, close -------------------------------------------------------------------------

    def _handle(self, message: Message) -> _Handle:
        handle = message.handle
        if not isinstance(handle, _Handle) or handle.sub_id != self._sub_id:
            raise BusError(f"message {message.message_id} was not received on {self.topic}/{self.subscription}")
        return handle

    def ack(self, message: Message) -> None:
        handle = self._handle(message)
        self._check_open()
        with self._acks_lock:
            if not self._acks:
                self._acks_since = time.monotonic()
            self._acks.append(handle.seq)
            due = len(self._acks) >= ACK_GROUP
        if due:
            self.flush_acks()

    def flush_acks(self, older_than: float = 0.0) -> None:
        """Writes the acks not yet written (if the oldest waited `older_than` seconds)."""
        seqs = self._take_acks(older_than)
        if not seqs:
            return
        try:
            with self._bus._db.write() as connection:
                self._write_acks(connection, seqs)
        except BaseException:
            self._return_acks(seqs)
            raise

    def _take_acks(self, older_than: float = 0.0) -> list[int]:
        with self._acks_lock:
            if not self._acks or time.monotonic() - self._acks_since < older_than:
                return []
            seqs, self._acks = self._acks, []
            return seqs

    def _return_acks(self, seqs: list[int]) -> None:
        if seqs:
            with self._acks_lock:
                self._acks[:0] = seqs

    def _write_acks(self, connection: sqlite3.Connection, seqs: list[int]) -> None:
        if seqs:
            connection.executemany("DELETE FROM pending WHERE sub_id = ? AND seq = ?",
                                   [(self._sub_id, seq) for seq in seqs])

    def nack(self, message: Message) -> None:
        handle = self._handle(message)
        with self._lock:
            self._check_open()
            self._negative(handle.seq, message.redelivery_count)

    def _negative(self, seq: int, redelivery_count: int) -> None:
        options, bus = self._options, self._bus
        with bus._db.write() as connection:
            if redelivery_count < options.max_redeliveries:
                connection.execute(
                    "UPDATE pending SET consumer = NULL, redelivery_count = redelivery_count + 1, visible_after = ? "
                    "WHERE sub_id = ? AND seq = ? AND consumer = ?",
                    (time.time() + options.redelivery_delay, self._sub_id, seq, self.id))
                return
            row = connection.execute(
                "SELECT m.key, m.schema_version, m.value, m.properties FROM pending AS p "
                "JOIN messages AS m ON m.seq = p.seq WHERE p.sub_id = ? AND p.seq = ? AND p.consumer = ?",
                (self._sub_id, seq, self.id)).fetchone()
            if row is None:  # acked meanwhile, or no longer ours
                return
            key, version, data, properties = row
            topic_id = bus._topic_id(connection, self._dead_letter_topic)
            writer = bus._writer(self._topic_id, version)
            dead_version = bus._register(connection, self._dead_letter_topic, topic_id, writer)
            dead_properties = {**(json.loads(properties) if properties else {}),
                               "REAL_TOPIC": self.topic, "ORIGIN_MESSAGE_ID": str(seq)}
            connection.execute(
                "INSERT INTO messages (topic_id, key, slot, schema_version, value, properties, publish_time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (topic_id, key, _slot(key), dead_version, data, json.dumps(dead_properties), time.time()))
            connection.execute("DELETE FROM pending WHERE sub_id = ? AND seq = ?", (self._sub_id, seq))
            log.info("message %s of %s/%s dead-lettered to %s after %s redeliveries", seq, self.topic,
                     self.subscription, self._dead_letter_topic, redelivery_count)

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._buffer.clear()
            try:
                self.flush_acks()
                with self._bus._db.write() as connection:
                    self._release(connection, self.id)
            except sqlite3.ProgrammingError:  # the bus connection is already closed
                pass
        self._bus._forget(self)

    def _check_open(self) -> None:
        if self.closed:
            raise BusError(f"the consumer of {self.topic}/{self.subscription} is closed")
