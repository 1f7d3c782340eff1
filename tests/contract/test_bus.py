"""One contract, every bus adapter: what svc_kit/bus/port.py promises, proven against the
embedded adapter (a SQLite file) and the Pulsar adapter (a real broker, see the
`pulsar_server` fixture). Each test gets its own topics, so a shared broker is fine.

Timing: waits for something expected are long deadlines that polling ends early; the
only short waits are the "nothing more arrives" checks (`BusFactory.quiet`)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from svc_kit.bus.port import Bus, Consumer, IncompatibleSchema, Message, SubscriptionOptions
from svc_kit.bus.schema import EventSchema

ROOT = Path(__file__).resolve().parents[2]
EXPECT = 15.0  # seconds to wait for a message that must come

SIGNUP_V1 = EventSchema({
    "type": "record", "name": "Signup", "namespace": "mkt.test",
    "fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "int"}],
})
SIGNUP_V2 = EventSchema({  # adds an optional field: compatible both ways
    "type": "record", "name": "Signup", "namespace": "mkt.test",
    "fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "int"},
               {"name": "plan", "type": ["null", "string"], "default": None}],
})
SIGNUP_BROKEN = EventSchema({  # n changes from int to string: compatible neither way
    "type": "record", "name": "Signup", "namespace": "mkt.test",
    "fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "string"}],
})


# -- the adapters -------------------------------------------------------------------------------------


class BusFactory:
    """Creates a fresh Bus on this test's storage (call it again to "restart"); closes them all at the end."""

    def __init__(self, name: str, make: Callable[[], Bus], quiet: float):
        self.name, self._make, self.quiet = name, make, quiet
        self._buses: list[Bus] = []

    def __call__(self) -> Bus:
        bus = self._make()
        self._buses.append(bus)
        return bus

    def close_all(self) -> None:
        for bus in reversed(self._buses):
            try:
                bus.close()
            except Exception:  # noqa: BLE001, S110 - closing twice is the test's business, not the contract's
                pass


@pytest.fixture(params=["embedded", "pulsar"])
def bus_factory(request, tmp_path) -> Iterator[BusFactory]:
    if request.param == "embedded":
        from svc_kit.bus.embedded import EmbeddedBus

        path = tmp_path / "bus.sqlite3"
        factory = BusFactory("embedded", lambda: EmbeddedBus(path), quiet=0.3)
    else:
        from svc_kit.bus.pulsar import PulsarBus

        server = request.getfixturevalue("pulsar_server")
        factory = BusFactory("pulsar", lambda: PulsarBus(server.service_url, server.admin_url), quiet=1.5)
    try:
        yield factory
    finally:
        factory.close_all()


@pytest.fixture
def topic() -> str:
    return f"bus-contract-{uuid.uuid4().hex[:12]}"


# -- helpers --------------------------------------------------------------------------------------------


def receive_n(consumer: Consumer, count: int, ack: bool = True, within: float = EXPECT) -> list[Message]:
    """Exactly the next `count` messages (acked unless told not to), failing if they do not come in time."""
    deadline = time.monotonic() + within
    messages: list[Message] = []
    while len(messages) < count:
        remaining = deadline - time.monotonic()
        message = consumer.receive(max(remaining, 0.0)) if remaining > 0 else None
        if message is None:
            pytest.fail(f"received {len(messages)} of {count} messages in {within} s: "
                        f"{[(m.key, m.value) for m in messages]}")
        if ack:
            consumer.ack(message)
        messages.append(message)
    return messages


def assert_nothing_more(consumer: Consumer, quiet: float) -> None:
    extra = consumer.receive(quiet)
    assert extra is None, f"unexpected message {extra.key}={extra.value} (redelivery {extra.redelivery_count})"


def ns(messages: list[Message]) -> list[int]:
    return [m.value["n"] for m in messages]


# -- delivery -------------------------------------------------------------------------------------------


def test_keys_keep_their_order_while_two_consumers_share_the_work(bus_factory, topic):
    bus = bus_factory()
    consumers = {"one": bus.consumer(topic, "workers", SIGNUP_V1), "two": bus.consumer(topic, "workers", SIGNUP_V1)}
    producer = bus.producer(topic, SIGNUP_V1)
    keys, per_key = [f"customer-{i}" for i in range(16)], 25
    total = len(keys) * per_key
    log: list[tuple[str, str, int]] = []  # (consumer, key, n) in the order received
    lock, done = threading.Lock(), threading.Event()

    def work(name: str, consumer: Consumer) -> None:
        while not done.is_set():
            message = consumer.receive(0.1)
            if message is None:
                continue
            with lock:
                log.append((name, message.key, message.value["n"]))
                if len(log) >= total:
                    done.set()
            consumer.ack(message)

    workers = [threading.Thread(target=work, args=item, daemon=True) for item in consumers.items()]
    for worker in workers:
        worker.start()
    for n in range(per_key):
        for key in keys:
            producer.send(key, {"id": key, "n": n})
    finished = done.wait(EXPECT * 2)
    done.set()
    for worker in workers:
        worker.join(5)
    assert finished, f"received {len(log)} of {total}"
    by_key: dict[str, list[int]] = defaultdict(list)
    for _name, key, n in log:
        by_key[key].append(n)
    assert by_key == {key: list(range(per_key)) for key in keys}  # each key in publish order, once
    shares = {name: sum(1 for who, _k, _n in log if who == name) for name in consumers}
    assert all(shares.values()), f"one consumer got all the work: {shares}"


def test_unacked_messages_go_to_another_consumer_when_theirs_closes(bus_factory, topic):
    bus = bus_factory()
    producer = bus.producer(topic, SIGNUP_V1)
    first = bus.consumer(topic, "work", SIGNUP_V1)
    for n in range(6):
        producer.send(f"key-{n % 2}", {"id": "x", "n": n})
    assert sorted(ns(receive_n(first, 6, ack=False))) == list(range(6))
    second = bus.consumer(topic, "work", SIGNUP_V1)
    first.close()
    redelivered = receive_n(second, 6)
    assert sorted(ns(redelivered)) == list(range(6))
    for key in ("key-0", "key-1"):  # still in publish order per key
        assert ns([m for m in redelivered if m.key == key]) == sorted(n for n in range(6) if f"key-{n % 2}" == key)
    assert_nothing_more(second, bus_factory.quiet)


def test_a_nacked_message_comes_back_after_the_delay_with_its_count_raised(bus_factory, topic):
    bus = bus_factory()
    delay = 0.6
    consumer = bus.consumer(topic, "work", SIGNUP_V1, SubscriptionOptions(redelivery_delay=delay))
    bus.producer(topic, SIGNUP_V1).send("k", {"id": "x", "n": 1}, {"origin": "test"})
    (message,) = receive_n(consumer, 1, ack=False)
    assert message.redelivery_count == 0
    nacked_at = time.monotonic()
    consumer.nack(message)
    assert consumer.receive(delay / 2) is None, "redelivered before the delay"
    (again,) = receive_n(consumer, 1)
    elapsed = time.monotonic() - nacked_at
    assert (again.message_id, again.key, again.value, dict(again.properties)) == \
        (message.message_id, "k", {"id": "x", "n": 1}, {"origin": "test"})
    assert again.redelivery_count == 1
    assert delay / 2 <= elapsed < delay + 10
    assert_nothing_more(consumer, bus_factory.quiet)


def test_a_message_nacked_past_max_redeliveries_goes_to_the_dead_letter_topic(bus_factory, topic):
    bus = bus_factory()
    options = SubscriptionOptions(redelivery_delay=0.1, max_redeliveries=2)
    dead_letters = bus.consumer(options.dead_letter_for(topic, "work"), "inspect", SIGNUP_V1)
    consumer = bus.consumer(topic, "work", SIGNUP_V1, options)
    bus.producer(topic, SIGNUP_V1).send("poison", {"id": "p", "n": 13}, {"trace": "abc"})
    counts = []
    for _ in range(3):
        (message,) = receive_n(consumer, 1, ack=False)
        counts.append(message.redelivery_count)
        consumer.nack(message)
    assert counts == [0, 1, 2]
    (dead,) = receive_n(dead_letters, 1)
    assert (dead.key, dead.value, dead.properties["trace"]) == ("poison", {"id": "p", "n": 13}, "abc")
    assert dead.properties["REAL_TOPIC"].endswith(topic)
    assert dead.properties["ORIGIN_MESSAGE_ID"]
    assert_nothing_more(consumer, bus_factory.quiet)


def test_a_subscription_resumes_from_its_cursor_after_a_restart(bus_factory, topic):
    bus = bus_factory()
    producer = bus.producer(topic, SIGNUP_V1)
    consumer = bus.consumer(topic, "durable", SIGNUP_V1)
    for n in range(5):
        producer.send("k", {"id": "x", "n": n})
    received = receive_n(consumer, 5, ack=False)
    assert ns(received) == [0, 1, 2, 3, 4]
    for message in received[:3]:
        consumer.ack(message)
    bus.close()

    bus = bus_factory()
    producer = bus.producer(topic, SIGNUP_V1)
    for n in (5, 6):  # published while no consumer is on the subscription
        producer.send("k", {"id": "x", "n": n})
    consumer = bus.consumer(topic, "durable", SIGNUP_V1)
    assert sorted(ns(receive_n(consumer, 4))) == [3, 4, 5, 6]
    assert_nothing_more(consumer, bus_factory.quiet)


def test_every_subscription_gets_every_message(bus_factory, topic):
    bus = bus_factory()
    audit, billing = bus.consumer(topic, "audit", SIGNUP_V1), bus.consumer(topic, "billing", SIGNUP_V1)
    producer = bus.producer(topic, SIGNUP_V1)
    for n in range(10):
        producer.send(f"key-{n % 3}", {"id": "x", "n": n})
    for consumer in (audit, billing):
        assert sorted(ns(receive_n(consumer, 10))) == list(range(10))
        assert_nothing_more(consumer, bus_factory.quiet)


def test_a_new_subscription_at_latest_skips_what_was_published_before(bus_factory, topic):
    bus = bus_factory()
    producer = bus.producer(topic, SIGNUP_V1)
    for n in range(3):
        producer.send("k", {"id": "x", "n": n})
    late = bus.consumer(topic, "late", SIGNUP_V1, SubscriptionOptions(initial_position="latest"))
    for n in (3, 4):
        producer.send("k", {"id": "x", "n": n})
    assert ns(receive_n(late, 2)) == [3, 4]
    assert_nothing_more(late, bus_factory.quiet)
    early = bus.consumer(topic, "early", SIGNUP_V1)
    assert ns(receive_n(early, 5)) == [0, 1, 2, 3, 4]


# -- schemas --------------------------------------------------------------------------------------------


def test_a_compatible_schema_change_is_accepted_and_old_and_new_readers_decode_both(bus_factory, topic):
    bus = bus_factory()
    old_producer = bus.producer(topic, SIGNUP_V1)
    old_reader = bus.consumer(topic, "old", SIGNUP_V1)
    new_producer = bus.producer(topic, SIGNUP_V2)
    new_reader = bus.consumer(topic, "new", SIGNUP_V2)
    old_producer.send("k", {"id": "a", "n": 1})
    new_producer.send("k", {"id": "b", "n": 2, "plan": "pro"})
    assert [m.value for m in receive_n(old_reader, 2)] == [{"id": "a", "n": 1}, {"id": "b", "n": 2}]
    assert [m.value for m in receive_n(new_reader, 2)] == [{"id": "a", "n": 1, "plan": None},
                                                          {"id": "b", "n": 2, "plan": "pro"}]


def test_an_incompatible_schema_is_refused(bus_factory, topic):
    bus = bus_factory()
    producer = bus.producer(topic, SIGNUP_V1)
    with pytest.raises(IncompatibleSchema):
        bus.producer(topic, SIGNUP_BROKEN)
    with pytest.raises(IncompatibleSchema):
        bus.consumer(topic, "broken", SIGNUP_BROKEN)
    reader = bus.consumer(topic, "fine", SIGNUP_V1)  # the topic still works with its schema
    producer.send("k", {"id": "a", "n": 1})
    assert ns(receive_n(reader, 1)) == [1]


# -- embedded only: several processes on one file ---------------------------------------------------------

_CHILD = r"""
import json, sys
from pathlib import Path
from svc_kit.bus.embedded import EmbeddedBus
from svc_kit.bus.schema import EventSchema

path, topic, mode, lease_ttl = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[5])
schema = EventSchema(json.loads(sys.argv[4]))
bus = EmbeddedBus(Path(path), lease_ttl=lease_ttl)
consumer = bus.consumer(topic, "work", schema)
print("ready", flush=True)
sys.stdin.readline()  # go
got = []
if mode == "hold":  # receive and never ack, then wait to be killed
    while len(got) < int(sys.argv[6]):
        message = consumer.receive(10)
        got.append(message.value["n"])
    print(json.dumps(got), flush=True)
    sys.stdin.readline()
else:  # consume until the subscription stays empty
    while (message := consumer.receive(1.0)) is not None:
        got.append([message.key, message.value["n"]])
        consumer.ack(message)
    bus.close()
    print(json.dumps(got), flush=True)
"""


def _child(path: Path, topic: str, mode: str, *extra: str, lease_ttl: float = 30.0) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), topic, mode, json.dumps(dict(SIGNUP_V1.definition)), str(lease_ttl),
         *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_embedded_processes_on_one_file_split_a_subscription_without_sharing_a_message(tmp_path, topic):
    from svc_kit.bus.embedded import EmbeddedBus

    path = tmp_path / "bus.sqlite3"
    with EmbeddedBus(path) as bus:
        producer = bus.producer(topic, SIGNUP_V1)
        for n in range(1500):
            producer.send(f"key-{n % 30}", {"id": "x", "n": n})
        children = [_child(path, topic, "consume") for _ in range(2)]
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, _ = child.communicate(timeout=60)
            assert child.returncode == 0
            results.append(json.loads(out))
    everything = [tuple(item) for result in results for item in result]
    assert sorted(n for _key, n in everything) == list(range(1500))  # each message once
    assert all(results), "one process got all the work"
    for result in results:
        by_key: dict[str, list[int]] = defaultdict(list)
        for key, n in result:
            by_key[key].append(n)
        assert all(values == sorted(values) for values in by_key.values())


def test_embedded_leases_of_a_killed_process_go_to_the_others(tmp_path, topic):
    from svc_kit.bus.embedded import EmbeddedBus

    path = tmp_path / "bus.sqlite3"
    with EmbeddedBus(path) as bus:  # the default 30 s lease: the dead process must be noticed sooner
        producer = bus.producer(topic, SIGNUP_V1)
        for n in range(5):
            producer.send("k", {"id": "x", "n": n})
        holder = _child(path, topic, "hold", "5")
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert json.loads(holder.stdout.readline()) == [0, 1, 2, 3, 4]
        survivor = bus.consumer(topic, "work", SIGNUP_V1)
        assert_nothing_more(survivor, 0.3)  # the key is held by the living holder
        holder.kill()
        holder.wait()
        assert ns(receive_n(survivor, 5, within=10)) == [0, 1, 2, 3, 4]


def test_embedded_leases_of_a_frozen_process_expire(tmp_path, topic):
    from svc_kit.bus.embedded import EmbeddedBus

    path = tmp_path / "bus.sqlite3"
    with EmbeddedBus(path) as bus:
        producer = bus.producer(topic, SIGNUP_V1)
        for n in range(3):
            producer.send("k", {"id": "x", "n": n})
        holder = _child(path, topic, "hold", "3", lease_ttl=0.6)
        try:
            holder.stdin.write("go\n")
            holder.stdin.flush()
            assert json.loads(holder.stdout.readline()) == [0, 1, 2]
            holder.send_signal(signal.SIGSTOP)  # alive, but its heartbeat stops
            survivor = bus.consumer(topic, "work", SIGNUP_V1)
            started = time.monotonic()
            assert ns(receive_n(survivor, 3, within=10)) == [0, 1, 2]
            assert time.monotonic() - started < 5
        finally:
            holder.kill()
            holder.wait()
