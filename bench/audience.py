"""bench/audience: the audience service with a million profiles, against raw
pymongo on the same MongoDB-wire server, in the same run.

It starts its own server (nx-27017 by default, or FerretDB) and the audience
service in a process of its own (as `make run` does), generates deterministic
synthetic profiles (email, phone, locale, time zone, consents on two channels,
12 typed attributes: numbers, texts, yes/no, instants, a list), and measures:

- import: raw pymongo `insert_many` of the service's own documents (same keys,
  same fields, same indexes) into a database of their own, against the
  ImportProfiles client stream (messages of 500 records, as the import CLI
  sends them) into the service's database. The two alternate slice by slice,
  so machine noise and the growing collections hit both alike; generating the
  profiles is never timed.
- a 4-condition segment (a number range, a text in a list, a granted consent, an
  instant in the last 90 days): CountSegmentMembers against a hand-written
  pymongo count of the same filter on the same collection, alternating, median
  of three each.
- streaming: StreamSegmentMembers of that segment and of one holding every
  profile, against iterating a raw pymongo cursor of the same ids in the same
  order; the service's resident memory is sampled meanwhile.

Every count is checked three ways (service, raw query, the generator's own
tally), and the streamed ids against the raw cursor's; a difference exits 1.
The segment-upkeep worker runs inside the service all along (every write marks
a profile for it): the import is measured while it clears those marks (the
server's and the service's CPU per profile are reported for both kinds of
slice); counting and streaming once it has stored the memberships the new
segments asked for (how long that took is reported).

    python -m bench.audience [--profiles 1000000] [--server nx|ferretdb] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo import MongoClient

from devstack.servers.mongo import ThrowawayMongo
from devstack.servers.platform import Child
from devstack.processes import cpu_seconds, free_port
from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import audience_service_pb2_grpc as pb_grpc
from marketing.audience.v1 import profile_pb2, segment_pb2
from marketing.common.v1 import attribute_pb2, channel_pb2
from svc_kit.services import SERVICES

from svc_audience.adapters.membership_store import MEMBERSHIPS, UPKEEP_REQUESTS
from svc_audience.adapters.repository import PROFILES, STALE, ensure_indexes, to_document
from svc_audience.domain.model import Profile
from svc_audience.entrypoints.mapping import data_from_proto
from svc_audience.entrypoints.file_import import BATCH as IMPORT_MESSAGE_RECORDS

TARGET_IMPORT_RATIO = 1.5
TARGET_COUNT_RATIO = 1.3
STRETCH_COUNT_SECONDS = 1.0
TARGET_RSS_BYTES = 1 << 30
WORKSPACE = "bench"
SERVICE_DATABASE = "bench_service"
RAW_DATABASE = "bench_raw"
RAW_CHUNK = 1000  # documents per insert_many
STREAM_BATCH = 1000  # members per streamed message, and the raw cursor's batch size
COUNT_ROUNDS = 3
PROGRESS_SECONDS = 10.0
WINDOW_DAYS = 90
PLANS = ("free", "basic", "pro", "team", "enterprise")
COUNTRIES = ("FR", "DE", "GB", "ES", "IT", "NL", "BE", "PT", "SE", "PL", "US", "CA")
CITIES = ("Paris", "Lyon", "Berlin", "London", "Madrid", "Rome", "Amsterdam", "Lisbon", "Warsaw", "Toronto")
TAGS = ("shoes", "sale", "outdoor", "kids", "running", "winter", "gift", "premium")
LOCALES = (("fr-FR", "Europe/Paris"), ("de-DE", "Europe/Berlin"), ("en-GB", "Europe/London"),
           ("es-ES", "Europe/Madrid"), ("it-IT", "Europe/Rome"), ("en-US", "America/New_York"))
GRANTED, DENIED, PENDING = (profile_pb2.Consent.STATUS_GRANTED, profile_pb2.Consent.STATUS_DENIED,
                            profile_pb2.Consent.STATUS_PENDING)

SEGMENT_ID, EVERYONE_ID = "recent-mid-spenders", "everyone"
SEGMENT_RULE = ('{"and": [{"attribute": "ltv", "op": "between", "values": [100, 800]}, '
                '{"attribute": "plan", "op": "in", "values": ["pro", "team"]}, '
                '{"consent": "email", "status": "granted"}, '
                f'{{"attribute": "last_order", "op": "within_last_days", "value": {WINDOW_DAYS}}}]}}')
EVERYONE_RULE = '{"attribute": "orders", "op": "gte", "value": 0}'


def segment_filter(now: datetime) -> dict:
    """SEGMENT_RULE written by hand for pymongo, in the form a person who knows
    nx-27017 would write: it runs $in on a field other than _id in Python, so
    the two plans are an $or, and it leaves a top-level $or beside other fields
    unbracketed in its SQL (`a AND b OR c AND d`, wrong answers), so each
    condition is an element of $and."""
    return {"$and": [{"workspace": WORKSPACE}, {"attributes.ltv": {"$gte": 100, "$lte": 800}},
                     {"$or": [{"attributes.plan": "pro"}, {"attributes.plan": "team"}]},
                     {"consents.EMAIL.status": "GRANTED"},
                     {"attributes.last_order": {"$gte": now - timedelta(days=WINDOW_DAYS), "$lte": now}}]}


def everyone_filter(now: datetime) -> dict:
    return {"workspace": WORKSPACE, "attributes.orders": {"$gte": 0}}


# -- synthetic profiles ---------------------------------------------------------------------------------

@dataclass
class Tally:
    """What the generator knows the segment must hold."""
    profiles: int = 0
    members: int = 0


def _attr(key: str, **value) -> attribute_pb2.Attribute:
    return attribute_pb2.Attribute(key=key, **value)


def synthetic(i: int, seed: int, start: datetime, tally: Tally) -> pb.ProfileRecord:
    """Profile number i, the same for a given seed and start. Instants sit at
    12:00 past whole days before `start`, so a moving "last 90 days" window
    selects the same profiles for 12 hours."""
    rng = random.Random(seed * 1_000_003 + i)
    external_id = f"p{i:07d}"
    locale, zone = LOCALES[rng.randrange(len(LOCALES))]
    ltv = round(rng.uniform(0, 1000), 2)
    plan = PLANS[rng.randrange(len(PLANS))]
    days_since_order = rng.randrange(365)
    last_order = start - timedelta(days=days_since_order, hours=12)
    signup = start - timedelta(days=rng.randrange(365, 2500), hours=12)
    roll = rng.random()
    email_status = GRANTED if roll < 0.7 else DENIED if roll < 0.9 else PENDING
    sms_status = GRANTED if rng.random() < 0.4 else DENIED
    message = profile_pb2.Profile(
        email=f"user{i}.{CITIES[i % len(CITIES)].lower()}@example{i % 97}.com",
        phone=f"+336{i:08d}", locale=locale, time_zone=zone,
        attributes=[
            _attr("ltv", double_value=ltv),
            _attr("orders", int_value=rng.randrange(61)),
            _attr("plan", string_value=plan),
            _attr("country", string_value=COUNTRIES[rng.randrange(len(COUNTRIES))]),
            _attr("city", string_value=CITIES[rng.randrange(len(CITIES))]),
            _attr("vip", bool_value=rng.random() < 0.1),
            _attr("newsletter", bool_value=rng.random() < 0.5),
            _attr("age", int_value=rng.randrange(18, 81)),
            _attr("score", double_value=round(rng.random(), 4)),
            _attr("tags", string_list_value=attribute_pb2.StringList(values=rng.sample(TAGS, rng.randint(1, 3)))),
        ],
        consents=[profile_pb2.Consent(channel=channel_pb2.CHANNEL_EMAIL, status=email_status, source="bench"),
                  profile_pb2.Consent(channel=channel_pb2.CHANNEL_SMS, status=sms_status, source="bench")])
    for key, stamp in (("last_order", last_order), ("signup", signup)):
        attribute = message.attributes.add(key=key)
        attribute.timestamp_value.FromDatetime(stamp)
    tally.profiles += 1
    tally.members += (100 <= ltv <= 800 and plan in ("pro", "team") and email_status == GRANTED
                      and days_since_order < WINDOW_DAYS)
    return pb.ProfileRecord(line=i + 1, profile_id=external_id, profile=message)


def raw_documents(records: list[pb.ProfileRecord], now: datetime) -> list[dict]:
    """The documents the service stores for these records, made by the
    service's own mapping (keys, field names and types alike)."""
    return [to_document(Profile(WORKSPACE, r.profile_id).merged(data_from_proto(r.profile, now), (), now))
            for r in records]


def import_messages(records: list[pb.ProfileRecord]) -> list[bytes]:
    """ImportProfiles messages, serialised beforehand (the stream then costs
    this process next to nothing while it is timed)."""
    messages = []
    for start in range(0, len(records), IMPORT_MESSAGE_RECORDS):
        message = pb.ImportProfilesRequest(records=records[start:start + IMPORT_MESSAGE_RECORDS])
        if not messages:
            message.parent = f"workspaces/{WORKSPACE}"
        messages.append(message.SerializeToString())
    return messages


# -- processes ------------------------------------------------------------------------------------------

def _status(pid: int, key: str) -> int:
    """A VmRSS/VmHWM-style line of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0



class RssSampler:
    """Peak resident memory of a process while a block runs (sampled every 20 ms)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _status(self.pid, "VmRSS"))
            self._stop.wait(0.02)

    def __enter__(self) -> RssSampler:
        self.peak = _status(self.pid, "VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _status(self.pid, "VmRSS"))


class AudienceProcess:
    """The audience service as `make run` runs it: `python -m svc_audience` in
    a process of its own (dies with this one), on free ports."""

    def __init__(self, mongo_url: str, folder: Path):
        spec = next(s for s in SERVICES if s.name == "audience")
        self.grpc_port = free_port()
        env = dict(os.environ)
        env.update({
            spec.env_prefix + "GRPC_PORT": str(self.grpc_port),
            spec.env_prefix + "METRICS_PORT": str(free_port()),
            spec.env_prefix + "MONGODB_URL": mongo_url,
            spec.env_prefix + "DATABASE": SERVICE_DATABASE,
            "MKT_STATE_DIR": str(folder),
            "MKT_BUS": "embedded",
            "MKT_BUS_PATH": str(folder / "bus.sqlite3"),
            "MKT_LOG_LEVEL": "WARNING",
        })
        self.grpc_service = spec.grpc_service
        self.child = Child("audience", [sys.executable, "-m", spec.package], folder / "audience.log",
                           {"gRPC": self.grpc_port})
        self.child.start(env)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}",
                                             options=[("grpc.max_receive_message_length", 64 << 20)])
        self.stub = pb_grpc.AudienceServiceStub(self.channel)
        # ImportProfiles with messages serialised beforehand.
        self.import_serialised = self.channel.stream_unary(
            "/marketing.audience.v1.AudienceService/ImportProfiles", request_serializer=None,
            response_deserializer=pb.ImportProfilesResponse.FromString)

    @property
    def pid(self) -> int:
        return self.child.process.pid

    def wait_serving(self, timeout: float = 60.0) -> None:
        health = health_pb2_grpc.HealthStub(self.channel)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (code := self.child.exited()) is not None:
                raise RuntimeError(f"the audience service exited with code {code}:\n  " + "\n  ".join(
                    self.child.tail(20)))
            try:
                status = health.Check(health_pb2.HealthCheckRequest(service=self.grpc_service), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the audience service did not serve within {timeout:.0f} s (log {self.child.log_path})")

    def stop(self) -> None:
        self.channel.close()
        process = self.child.process
        if process is not None and process.poll() is None:
            process.terminate()  # its data is thrown away: a few seconds to stop cleanly, or killed
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.child.log_file:
            self.child.log_file.close()


class Ticker:
    """A progress line on stderr at most every PROGRESS_SECONDS."""

    def __init__(self):
        self.last = time.monotonic()

    def __call__(self, text: Callable[[], str], force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= PROGRESS_SECONDS:
            self.last = now
            print(f"  .. {text()}", file=sys.stderr, flush=True)


# -- the measures ---------------------------------------------------------------------------------------

@dataclass
class Results:
    profiles: int
    server: str
    seed: int
    raw_import_s: float = 0.0
    service_import_s: float = 0.0
    # CPU seconds during the import slices: {"raw"|"service": {"server"|"audience": s}}
    import_cpu: dict[str, dict[str, float]] = field(default_factory=lambda: {
        "raw": {"server": 0.0, "audience": 0.0}, "service": {"server": 0.0, "audience": 0.0}})
    raw_counts: list[float] = field(default_factory=list)
    service_counts: list[float] = field(default_factory=list)
    counted: dict[str, int] = field(default_factory=dict)
    streams: dict[str, dict] = field(default_factory=dict)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, what: str, ok: bool) -> None:
        self.checks.append((what, ok))
        if not ok:
            print(f"!! check failed: {what}", flush=True)


def run_import(args, audience: AudienceProcess, server_pid: int, raw_db, results: Results, start: datetime,
               tally: Tally) -> None:
    n = args.profiles
    slices = max(1, min(10, n // 10_000))
    bounds = [n * k // slices for k in range(slices + 1)]
    ensure_indexes(raw_db)  # the same indexes as the service's collection
    ticker = Ticker()
    done = {"raw": 0, "service": 0}

    def progress() -> str:
        return (f"import: raw {done['raw']:,}/{n:,} in {results.raw_import_s:.0f} s, "
                f"service {done['service']:,}/{n:,} in {results.service_import_s:.0f} s")

    for k in range(slices):
        records = [synthetic(i, args.seed, start, tally) for i in range(bounds[k], bounds[k + 1])]
        messages = import_messages(records)

        def raw_slice() -> None:
            for lo in range(0, len(records), RAW_CHUNK):
                documents = raw_documents(records[lo:lo + RAW_CHUNK], datetime.now(UTC))
                began = time.perf_counter()
                raw_db[PROFILES].insert_many(documents, ordered=False)
                results.raw_import_s += time.perf_counter() - began
                done["raw"] += len(documents)
                ticker(progress)

        def service_slice() -> None:
            def stream() -> Iterator[bytes]:
                for j, message in enumerate(messages):
                    yield message
                    done["service"] = bounds[k] + min(len(records), (j + 1) * IMPORT_MESSAGE_RECORDS)
                    ticker(progress)

            began = time.perf_counter()
            summary = audience.import_serialised(stream(), timeout=24 * 3600)
            results.service_import_s += time.perf_counter() - began
            done["service"] = bounds[k + 1]
            if summary.inserted != len(records) or summary.rejected:
                results.check(f"ImportProfiles stored every record of slice {k + 1} (inserted {summary.inserted} "
                              f"of {len(records)}, rejected {summary.rejected}: "
                              f"{[r.reason for r in summary.rejections[:3]]})", False)

        for part in ((raw_slice, service_slice) if k % 2 == 0 else (service_slice, raw_slice)):
            before = cpu_seconds(server_pid), cpu_seconds(audience.pid)
            part()
            cpu = results.import_cpu["raw" if part is raw_slice else "service"]
            cpu["server"] += cpu_seconds(server_pid) - before[0]
            cpu["audience"] += cpu_seconds(audience.pid) - before[1]
        ticker(progress, force=k == slices - 1)

    raw_rate, service_rate = n / results.raw_import_s, n / results.service_import_s
    print(f"import   raw insert_many  {raw_rate:>10,.0f} profiles/s  ({results.raw_import_s:.1f} s)")
    print(f"import   ImportProfiles   {service_rate:>10,.0f} profiles/s  ({results.service_import_s:.1f} s)")
    print(f"import: service / raw insert_many = {results.service_import_s / results.raw_import_s:.2f}x "
          f"(target <= {TARGET_IMPORT_RATIO}x)", flush=True)


def settle_upkeep(service_db, results: Results) -> None:
    """Waits until the segment-upkeep worker has done what the new segments
    asked of it (their memberships, computed in full) and no profile is marked
    stale: counting and streaming are then measured against each other, not
    against a one-off build of a million memberships. How long that took is
    reported; the worker keeps running (a moving time window asks it again)."""
    ticker = Ticker()
    began = time.perf_counter()
    while True:
        pending = service_db[UPKEEP_REQUESTS].find_one({}, {"_id": 1}) is not None
        stale = service_db.command("count", PROFILES, query={STALE: True})["n"]
        if not pending and not stale:
            break
        ticker(lambda: f"waiting for the segment-upkeep worker: {service_db[MEMBERSHIPS].estimated_document_count():,}"
                       f" memberships stored, {stale:,} profiles marked stale, recomputation "
                       f"{'pending' if pending else 'done'} ({time.perf_counter() - began:.0f} s)")
        time.sleep(1)
    took = time.perf_counter() - began
    memberships = service_db[MEMBERSHIPS].estimated_document_count()
    results.notes.append(f"segment upkeep after CreateSegment: {took:,.1f} s until its {memberships:,} memberships "
                         f"were stored and no profile was marked stale (counts and streams measured after)")
    print(f"upkeep   the new segments' memberships ({memberships:,}) were stored {took:,.1f} s after they were "
          f"created", flush=True)


def run_counts(audience: AudienceProcess, service_db, raw_db, results: Results, tally: Tally) -> None:
    segment = f"workspaces/{WORKSPACE}/segments/{SEGMENT_ID}"
    raw_counts: list[int] = []
    service_counts: list[int] = []

    def raw() -> None:
        began = time.perf_counter()
        raw_counts.append(service_db.command("count", PROFILES, query=segment_filter(datetime.now(UTC)))["n"])
        results.raw_counts.append(time.perf_counter() - began)

    def service() -> None:
        began = time.perf_counter()
        service_counts.append(audience.stub.CountSegmentMembers(
            pb.CountSegmentMembersRequest(segment=segment), timeout=3600).count)
        results.service_counts.append(time.perf_counter() - began)

    for k in range(COUNT_ROUNDS):
        for part in ((raw, service) if k % 2 == 0 else (service, raw)):
            part()
        print(f"  .. segment count round {k + 1}/{COUNT_ROUNDS}: raw {results.raw_counts[-1]:.3f} s, "
              f"service {results.service_counts[-1]:.3f} s", file=sys.stderr, flush=True)
    raw_copy = raw_db.command("count", PROFILES, query=segment_filter(datetime.now(UTC)))["n"]
    results.counted = {"service": service_counts[0], "raw": raw_counts[0], "raw database": raw_copy,
                       "generated": tally.members}
    results.check(f"segment counts agree: service {service_counts}, raw query {raw_counts}, raw-imported copy "
                  f"{raw_copy}, generator {tally.members}",
                  set(service_counts) == set(raw_counts) == {raw_copy, tally.members})
    raw_s, service_s = statistics.median(results.raw_counts), statistics.median(results.service_counts)
    print(f"segment  4 conditions: {service_counts[0]:,} of {results.profiles:,} profiles; CountSegmentMembers "
          f"{service_s:.3f} s, raw count {raw_s:.3f} s (medians of {COUNT_ROUNDS})")
    print(f"segment count: service / raw query = {service_s / raw_s:.2f}x (target <= {TARGET_COUNT_RATIO}x; "
          f"stretch < {STRETCH_COUNT_SECONDS:.0f} s: {service_s:.3f} s)", flush=True)


def _digest(ids: Iterator[str]) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    for external_id in ids:
        digest.update(external_id.encode() + b"\n")
        count += 1
    return count, digest.hexdigest()


def run_stream(label: str, segment_id: str, hand_filter: Callable[[datetime], dict], audience: AudienceProcess,
               service_db, results: Results, expected: int) -> None:
    """Raw, service, service, raw: drift (the upkeep worker settling, say)
    falls on both alike; each side's time is the mean of its two runs."""
    ticker = Ticker()
    times: dict[str, list[float]] = {"raw": [], "service": []}
    outcomes: set[tuple[str, int, str]] = set()
    prefix = f"workspaces/{WORKSPACE}/profiles/"
    info = results.streams[label] = {"rss_before": _status(audience.pid, "VmRSS"), "rss_peak": 0}

    def counted(ids: Iterator[str], what: str) -> Iterator[str]:
        for n, external_id in enumerate(ids, 1):
            if n % STREAM_BATCH == 0:
                ticker(lambda: f"stream {label}: {what} {n:,}/{expected:,}")
            yield external_id

    def raw() -> None:
        began = time.perf_counter()
        cursor = service_db[PROFILES].find(hand_filter(datetime.now(UTC)), {"_id": 0, "external_id": 1}) \
            .sort("external_id", 1).batch_size(STREAM_BATCH)
        count, digest = _digest(counted((d["external_id"] for d in cursor), "raw cursor"))
        times["raw"].append(time.perf_counter() - began)
        outcomes.add(("raw", count, digest))

    def service() -> None:
        request = pb.StreamSegmentMembersRequest(parent=f"workspaces/{WORKSPACE}/segments/{segment_id}",
                                                 batch_size=STREAM_BATCH)
        with RssSampler(audience.pid) as rss:
            began = time.perf_counter()
            responses = audience.stub.StreamSegmentMembers(request, timeout=3600)
            ids = (m.profile[len(prefix):] for response in responses for m in response.members)
            count, digest = _digest(counted(ids, "service"))
            times["service"].append(time.perf_counter() - began)
        info["rss_peak"] = max(info["rss_peak"], rss.peak)
        outcomes.add(("service", count, digest))

    for part in (raw, service, service, raw):
        part()
    raw_s, service_s = statistics.fmean(times["raw"]), statistics.fmean(times["service"])
    counts = sorted({count for _, count, _ in outcomes})
    info.update(raw_s=raw_s, service_s=service_s, members=counts[0], runs=times)
    results.check(f"stream {label}: every run streamed the same ids in the same order ({counts} members, "
                  f"{expected:,} expected)", counts == [expected] and len({d for _, _, d in outcomes}) == 1)
    in_order = times["raw"][:1] + times["service"] + times["raw"][1:]
    print(f"stream   {label}: {counts[0]:,} members; StreamSegmentMembers {service_s:.2f} s "
          f"({counts[0] / service_s:,.0f}/s), raw cursor {raw_s:.2f} s ({counts[0] / raw_s:,.0f}/s) "
          f"(means of 2, run raw-service-service-raw: {', '.join(f'{t:.2f}' for t in in_order)} s); "
          f"service RSS {info['rss_before'] / 2**20:.0f} MiB before, peak {info['rss_peak'] / 2**20:.0f} MiB")
    print(f"stream ({label}): service / raw cursor = {service_s / raw_s:.2f}x", flush=True)


def summary(results: Results, audience_pid: int, service_db) -> bool:
    n = results.profiles
    verdicts: list[bool] = []

    def verdict(ok: bool) -> str:
        verdicts.append(ok)
        return "PASS" if ok else "MISS"

    import_ratio = results.service_import_s / results.raw_import_s
    raw_count, service_count = statistics.median(results.raw_counts), statistics.median(results.service_counts)
    count_ratio = service_count / raw_count
    everyone = results.streams["all profiles"]
    segment_stream = results.streams["4-condition segment"]
    peak = max(s["rss_peak"] for s in results.streams.values())
    stale = service_db.command("count", PROFILES, query={"stale": True})["n"]
    raw_cpu, service_cpu, per = results.import_cpu["raw"], results.import_cpu["service"], 1e6 / n
    memberships = service_db["memberships"].estimated_document_count()
    lines = [
        f"== bench/audience: {n:,} profiles on {results.server}, seed {results.seed} ==",
        f"import     raw insert_many        {n / results.raw_import_s:>10,.0f} profiles/s  "
        f"({results.raw_import_s:,.1f} s)",
        f"           ImportProfiles (gRPC)  {n / results.service_import_s:>10,.0f} profiles/s  "
        f"({results.service_import_s:,.1f} s)",
        f"           import: service / raw insert_many = {import_ratio:.2f}x (target <= {TARGET_IMPORT_RATIO}x)"
        f"  {verdict(import_ratio <= TARGET_IMPORT_RATIO)}",
        f"segment    members: service {results.counted['service']:,}, raw query {results.counted['raw']:,}, "
        f"raw-imported copy {results.counted['raw database']:,}, generator {results.counted['generated']:,}",
        f"           CountSegmentMembers {service_count:.3f} s, raw count {raw_count:.3f} s "
        f"(medians of {COUNT_ROUNDS}; all: service {', '.join(f'{t:.3f}' for t in results.service_counts)}, "
        f"raw {', '.join(f'{t:.3f}' for t in results.raw_counts)})",
        f"           segment count: service / raw query = {count_ratio:.2f}x (target <= {TARGET_COUNT_RATIO}x)"
        f"  {verdict(count_ratio <= TARGET_COUNT_RATIO)}",
        f"           stretch: CountSegmentMembers under {STRETCH_COUNT_SECONDS:.0f} s: {service_count:.3f} s  "
        f"{'PASS' if service_count < STRETCH_COUNT_SECONDS else 'MISS'}",
    ]
    for label, info in results.streams.items():
        lines.append(f"stream     {label}: {info['members']:,} members, StreamSegmentMembers {info['service_s']:.2f} s"
                     f", raw cursor {info['raw_s']:.2f} s; stream ({label}): service / raw cursor = "
                     f"{info['service_s'] / info['raw_s']:.2f}x")
    lines += [
        f"memory     audience service peak RSS while streaming {everyone['members']:,} members: "
        f"{everyone['rss_peak'] / 2**20:,.0f} MiB (before: {everyone['rss_before'] / 2**20:,.0f} MiB; "
        f"{segment_stream['members']:,} members: {segment_stream['rss_peak'] / 2**20:,.0f} MiB) "
        f"(target < 1 GiB)  {verdict(peak < TARGET_RSS_BYTES)}",
        f"           its high-water mark over the whole run (VmHWM): {_status(audience_pid, 'VmHWM') / 2**20:,.0f} MiB",
        f"cpu        per imported profile, during raw slices: server {raw_cpu['server'] * per:.0f} us, audience "
        f"service {raw_cpu['audience'] * per:.0f} us (its segment-upkeep worker: no call reaches it then); during "
        f"ImportProfiles slices: server {service_cpu['server'] * per:.0f} us, audience service "
        f"{service_cpu['audience'] * per:.0f} us",
        f"upkeep     at the end {stale:,} profiles still marked stale, {memberships:,} stored segment memberships",
        *[f"note       {note}" for note in results.notes],
        f"checks     {sum(ok for _, ok in results.checks)}/{len(results.checks)} passed"
        + "".join(f"\n           FAILED: {what}" for what, ok in results.checks if not ok),
        f"overall    {'all targets met' if all(verdicts) else 'some targets MISSED'}",
    ]
    print("\n" + "\n".join(lines), flush=True)
    return all(ok for _, ok in results.checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1_000_000, help="how many profiles (default 1,000,000)")
    parser.add_argument("--server", choices=("nx", "ferretdb"), default="nx",
                        help="the MongoDB-wire server to start (default nx: nx-27017, `make run`'s)")
    parser.add_argument("--seed", type=int, default=1, help="of the synthetic profiles (default 1)")
    args = parser.parse_args(argv)
    if args.profiles < 100:
        parser.error("--profiles: at least 100")
    start = datetime.now(UTC).replace(microsecond=0)
    results = Results(args.profiles, {"nx": "nx-27017", "ferretdb": "FerretDB"}[args.server], args.seed)
    tally = Tally()
    began = time.monotonic()
    print(f"bench/audience: {args.profiles:,} profiles, server {results.server}, seed {args.seed}; raw pymongo and "
          f"the audience service (own process) alternate on the same server", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-audience-") as tmp, ThrowawayMongo(args.server) as server:
        audience = AudienceProcess(server.url, Path(tmp))
        client = MongoClient(server.url, tz_aware=True, socketTimeoutMS=3_600_000)
        try:
            audience.wait_serving()
            service_db, raw_db = client[SERVICE_DATABASE], client[RAW_DATABASE]
            run_import(args, audience, server.pid, raw_db, results, start, tally)
            for segment_id, name, rule in ((SEGMENT_ID, "Recent mid spenders", SEGMENT_RULE),
                                           (EVERYONE_ID, "Everyone", EVERYONE_RULE)):
                created = time.perf_counter()
                audience.stub.CreateSegment(pb.CreateSegmentRequest(
                    parent=f"workspaces/{WORKSPACE}", segment_id=segment_id,
                    segment=segment_pb2.Segment(display_name=name, definition=rule)), timeout=3600)
                results.notes.append(f"CreateSegment {segment_id} (counts its members once): "
                                     f"{time.perf_counter() - created:.2f} s")
            settle_upkeep(service_db, results)
            run_counts(audience, service_db, raw_db, results, tally)
            run_stream("4-condition segment", SEGMENT_ID, segment_filter, audience, service_db, results,
                       tally.members)
            run_stream("all profiles", EVERYONE_ID, everyone_filter, audience, service_db, results,
                       args.profiles)
            results.notes.append(f"whole run {time.monotonic() - began:,.0f} s")
            ok = summary(results, audience.pid, service_db)
        finally:
            client.close()
            audience.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
