"""bench/analytics: the analytics service's ingest path against raw clickhouse-driver inserts of
the same rows, campaign report latency over a large event table on the ClickHouse server and on
chdb, and the service's peak memory, in one run.

- ingest: N notify message events (sent, delivered, opened, clicked per message, across the
  campaigns) are published on the bus (the embedded bus; Pulsar when MKT_TEST_PULSAR_URL and
  MKT_TEST_PULSAR_ADMIN_URL are set: a broker whose svc_analytics-notify subscription has no
  backlog, or the count check fails) under the service's subscription, then the analytics service
  (`python -m svc_analytics`, a process of its own, its event store in a database of the ClickHouse
  server) is started and consumes them through its notify consumer: inbox, batching writer
  (dedupe, machine flags), insert. The rate is taken from the first batch seen in the store to
  the last one, so process start-up is not in it.
  The baseline: the rows the service stored, read back and inserted with plain clickhouse-driver
  in batches of the service's batch size into another database of the same server with the same
  table layout (and its materialised view). Target: service / raw >= 0.6. Checked: the service
  stored every event once, and per event type its counts equal the raw table's.
- memory: the service process's peak resident set (VmHWM of /proc/<pid>/status) once it has
  ingested the N events. Target <= 500 MiB.
- report: R events (default 10,000,000) across C campaigns (default 1,000) generated inside the
  engine (INSERT ... SELECT FROM numbers(), the same SQL on both engines, so no row crosses
  Python), through the events table and its materialised view; then GetCampaignReport through the
  service's use case (service_layer.reports.campaign_report over the ColumnarEventStore) for 200
  campaigns picked at random, once the engine's background merges are done: p50 and p95. Target
  p95 <= 100 ms on the ClickHouse server; the same is printed for chdb (in this process). Then
  again after OPTIMIZE TABLE campaign_hourly FINAL (one part per month), for comparison: how much
  of the time is reading the same groups' states from several parts. Checked: a report's sent
  count equals a count over the events table.

The ClickHouse server is a throwaway Debian clickhouse-server (devstack.servers.clickhouse), or
the one at MKT_TEST_CLICKHOUSE_URL (databases bench_* are created and dropped there).

    python -m bench.analytics [--events 200000] [--campaigns 1000] [--report-events 10000000]
                              [--queries 200] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from clickhouse_driver import Client

import event_schemas
from devstack.processes import free_port
from svc_analytics.adapters.columnar_event_store import ColumnarEventStore
from svc_analytics.adapters.event_schema import EVENT_COLUMNS
from svc_analytics.adapters.sql_engines import ClickHouseServer, EmbeddedChdb, SqlEngine
from svc_analytics.config import BATCH_SIZE
from svc_analytics.entrypoints.consumers import NOTIFY_SUBSCRIPTION, NOTIFY_TOPIC
from svc_analytics.service_layer.reports import campaign_report
from svc_kit.bus.factory import make_bus
from svc_kit.bus.port import OutgoingMessage

TARGET_RATIO = 0.6
TARGET_P95_MS = 100.0
TARGET_RSS_MIB = 500
WORKSPACE = "bench"
SERVICE_DB = "bench_service"
RAW_DB = "bench_raw"
REPORT_DB = "bench_report"
CHUNK = 1_000_000  # generated rows per INSERT ... SELECT
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
PAYLOADS = {"message_sent": "MessageSent", "message_delivered": "MessageDelivered",
            "message_opened": "MessageOpened", "message_clicked": "MessageClicked"}
STEPS = tuple(PAYLOADS)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def client(url: str, database: str = "default") -> Client:
    parts = urlsplit(url)
    return Client(host=parts.hostname, port=parts.port or 9000, user=parts.username or "default",
                  password=parts.password or "", database=database, send_receive_timeout=600)


@contextlib.contextmanager
def clickhouse_server() -> Iterator[str]:
    external = os.environ.get("MKT_TEST_CLICKHOUSE_URL")
    if external:
        yield external
        return
    from devstack.servers.clickhouse import ThrowawayClickHouse

    with ThrowawayClickHouse() as server:
        print(f"ClickHouse server (throwaway) at {server.url}", flush=True)
        yield server.url


def bus_env(folder: Path) -> dict[str, str]:
    url, admin = os.environ.get("MKT_TEST_PULSAR_URL"), os.environ.get("MKT_TEST_PULSAR_ADMIN_URL")
    if url and admin:
        return {"MKT_BUS": "pulsar", "MKT_PULSAR_URL": url, "MKT_PULSAR_ADMIN_URL": admin}
    return {"MKT_BUS": "embedded", "MKT_BUS_PATH": str(folder / "bus.sqlite3")}


# -- ingest ---------------------------------------------------------------------------------------------

def envelopes(count: int, campaigns: int, run: str) -> list[dict]:
    """`count` notify envelopes: per message sent, delivered, opened (a browser, 20 minutes on),
    clicked (30 minutes on); event ids unique to this run."""
    ws = f"workspaces/{WORKSPACE}"
    start = datetime.now(UTC) - timedelta(hours=6)
    out = []
    for i in range(count):
        m, step = divmod(i, len(STEPS))
        event_type = STEPS[step]
        info = {"message": f"{ws}/messages/{run}-m{m}", "channel": "EMAIL", "recipient": f"{ws}/profiles/p{m % 50_000}",
                "category": "MARKETING", "campaign": f"{ws}/campaigns/c{m % campaigns}", "idempotency_key": "",
                "labels": {}, "variant": "control" if m % 2 else "b"}
        payload: dict = {"message": info}
        if event_type in ("message_sent", "message_delivered"):
            payload["provider"] = f"{ws}/providers/smtp"
        if event_type == "message_sent":
            payload.update(cost_micros=900, cost_currency="EUR")
        if event_type in ("message_opened", "message_clicked"):
            payload["user_agent"] = BROWSER
        if event_type == "message_clicked":
            payload["url"] = f"https://shop.example/p/{m % 97}"
        when = start + timedelta(seconds=m % 3600, minutes=(0, 0, 20, 30)[step], microseconds=step)
        out.append({"event_id": f"{run}-e{i}", "event_type": event_type, "workspace": WORKSPACE,
                    "aggregate_id": f"{run}-m{m}", "aggregate_version": step + 1, "occurred_at": when,
                    "producer": "svc_notify", "traceparent": None, "tracestate": None,
                    "payload": (f"marketing.notify.v1.{PAYLOADS[event_type]}", payload)})
    return out


def publish(env: dict[str, str], batch: list[dict]) -> float:
    """Creates the service's subscription (so the backlog waits for it), then publishes; seconds taken."""
    bus = make_bus(env)
    try:
        schema = event_schemas.load("notify.v1")
        bus.consumer(NOTIFY_TOPIC, NOTIFY_SUBSCRIPTION, schema).close()
        producer = bus.producer(NOTIFY_TOPIC, schema)
        began = time.perf_counter()
        for at in range(0, len(batch), 1000):
            producer.send_batch([OutgoingMessage(e["aggregate_id"], e) for e in batch[at:at + 1000]])
        return time.perf_counter() - began
    finally:
        bus.close()


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class AnalyticsProcess:
    """`python -m svc_analytics` on free ports, its store in `store_url`, its state in `folder`."""

    def __init__(self, folder: Path, store_url: str, env: dict[str, str]):
        self.folder = folder
        self.log = open(folder / "analytics.log", "ab")  # noqa: SIM115 - closed in stop()
        environment = {**os.environ, **env, "MKT_STATE_DIR": str(folder),
                       "MKT_ANALYTICS_GRPC_PORT": str(free_port()), "MKT_ANALYTICS_METRICS_PORT": str(free_port()),
                       "MKT_ANALYTICS_CLICKHOUSE_URL": store_url, "MKT_LOG_LEVEL": "WARNING"}
        environment.pop("MKT_ANALYTICS_DATABASE_URL", None)
        self.process = subprocess.Popen([sys.executable, "-m", "svc_analytics"], env=environment, stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            tail = (self.folder / "analytics.log").read_text(errors="replace").splitlines()[-20:]
            raise RuntimeError("the analytics service exited:\n  " + "\n  ".join(tail))

    def peak_rss_mib(self) -> float:
        return status_kib(self.process.pid, "VmHWM") / 1024

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def compare_counts(published: dict[str, int], service_rows: int, service_types: dict[str, int], raw_rows: int,
                   raw_types: dict[str, int]) -> list[str]:
    """What disagrees between the events published (per type), the service's table (rows, distinct
    ids per type) and the raw table (rows per type); [] when all agree."""
    count = sum(published.values())
    failures = []
    if service_rows != count or service_types != published:
        failures.append(f"the service stored {service_rows} rows, per type {service_types}; "
                        f"published {count}, per type {published}")
    if raw_rows != count or raw_types != service_types:
        failures.append(f"raw inserts: {raw_rows} rows, per type {raw_types}; service: {service_types}")
    return failures


def type_counts(db: Client, distinct: bool) -> dict[str, int]:
    counted = "uniqExact(event_id)" if distinct else "count()"
    return {t: int(n) for t, n in db.execute(f"SELECT type, {counted} FROM events GROUP BY type")}


def through_service(server_url: str, folder: Path, batch: list[dict], timeout: float) -> dict:
    """The analytics service consumes the published backlog. Its rate is taken between the first
    batch seen in the store and the last (the other batches went through every step in between),
    so process start-up is left out; when everything came in one batch, from the service's own
    receive stamp of the first row instead. Also its peak RSS and CPU time."""
    db = client(server_url, SERVICE_DB)
    service = AnalyticsProcess(folder, with_database(server_url, SERVICE_DB), bus_env(folder))
    try:
        deadline = time.monotonic() + timeout
        stored = 0
        first: tuple[float, int] | None = None  # when the store first held rows, and how many
        last_print = time.monotonic()
        while True:
            service.check_alive()
            with contextlib.suppress(Exception):  # the table appears once the service has migrated
                stored = int(db.execute("SELECT count() FROM events")[0][0])
            now = time.time()
            if stored and first is None:
                first = (now, stored)
            if stored >= len(batch):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service stored {stored} of {len(batch)} events within {timeout:.0f} s")
            if time.monotonic() - last_print > 10:
                print(f"  ingest: {stored:,} of {len(batch):,} stored", file=sys.stderr, flush=True)
                last_print = time.monotonic()
            time.sleep(0.02)
        if first[1] < len(batch):
            rate = (len(batch) - first[1]) / (now - first[0])
        else:
            received = db.execute("SELECT min(toUInt64(receive_time) * 1000000 + receive_us) FROM events")[0][0]
            rate = len(batch) / (now - received / 1e6)
        result = {"rate": rate, "rss": service.peak_rss_mib(), "cpu": service.cpu_seconds()}
        time.sleep(0.5)  # a late duplicate insert would show in the counts below
        result["rows"] = int(db.execute("SELECT count() FROM events")[0][0])
        result["types"] = type_counts(db, distinct=True)
        return result
    finally:
        service.stop()
        db.disconnect()


def raw_inserts(server_url: str, batch_size: int) -> dict:
    """The rows the service stored, inserted with plain clickhouse-driver into RAW_DB."""
    source, target = client(server_url, SERVICE_DB), client(server_url, RAW_DB)
    try:
        rows = source.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events")
        statement = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES"
        began = time.perf_counter()
        for at in range(0, len(rows), batch_size):
            target.execute(statement, rows[at:at + batch_size])
        seconds = time.perf_counter() - began
        return {"seconds": seconds, "rows": len(rows), "types": type_counts(target, distinct=False)}
    finally:
        source.disconnect()
        target.disconnect()


def fresh_database(server_url: str, database: str) -> None:
    admin = client(server_url)
    try:
        admin.execute(f"DROP DATABASE IF EXISTS {database}")
    finally:
        admin.disconnect()
    store = ColumnarEventStore(ClickHouseServer(with_database(server_url, database)))  # creates it
    store.migrate()
    store.close()


def run_ingest(server_url: str, folder: Path, count: int, campaigns: int) -> tuple[list[str], list[str], float, float]:
    """The ingest and memory lines, failed checks, the ratio and the peak RSS in MiB."""
    for database in (SERVICE_DB, RAW_DB):
        fresh_database(server_url, database)
    run = f"r{int(time.time())}"
    batch = envelopes(count, campaigns, run)
    expected = Counter(e["event_type"] for e in batch)
    env = bus_env(folder)
    published = publish(env, batch)
    bus_name = env["MKT_BUS"]
    print(f"ingest: {count:,} notify events published on the {bus_name} bus in {published:.1f} s; "
          "the analytics service consumes them", flush=True)
    service = through_service(server_url, folder, batch, timeout=max(120.0, count / 200))
    batch_size = int(BATCH_SIZE.default)
    raw = raw_inserts(server_url, batch_size)
    lines = []
    failures = compare_counts(dict(expected), service["rows"], service["types"], raw["rows"], raw["types"])
    service_rate, raw_rate = service["rate"], raw["rows"] / raw["seconds"]
    ratio = service_rate / raw_rate
    lines.append(f"ingest ({bus_name} bus)  raw clickhouse-driver {raw_rate:,.0f} events/s  "
                 f"service {service_rate:,.0f} events/s  ratio {ratio:.2f}  "
                 f"(service CPU {service['cpu']:.1f} s for {count:,} events; counts equal: "
                 f"{'yes' if not failures else 'NO'})")
    lines.append(f"analytics service peak RSS {service['rss']:,.0f} MiB")
    return lines, failures, ratio, service["rss"]


# -- report ---------------------------------------------------------------------------------------------

def generate_sql(offset: int, count: int, campaigns: int, base: int) -> str:
    """Rows n in [offset, offset + count): message n / 4 of campaign (n / 4) % campaigns, steps sent,
    delivered (1 in 20 bounced), opened (1 in 7 by a machine), clicked (1 in 5 a purchase instead,
    attributed, with a value); each campaign's sends spread over ~42 hours from its launch hour."""
    m, c, h = "intDiv(number, 4)", f"(intDiv(number, 4) % {campaigns})", "cityHash64(intDiv(number, 4))"
    step = "(number % 4)"
    purchase = f"({step} = 3 AND {h} % 5 = 0)"
    return f"""
INSERT INTO events ({', '.join(EVENT_COLUMNS)})
SELECT '{WORKSPACE}', concat('e', toString(number)),
    multiIf({step} = 0, 'message_sent', {step} = 1, if({h} % 20 = 0, 'message_bounced', 'message_delivered'),
            {step} = 2, 'message_opened', {purchase}, 'purchase', 'message_clicked') AS type,
    toDateTime({base} + {c} * 3600 + intDiv({m}, {campaigns}) * 60
               + multiIf({step} = 0, 0, {step} = 1, 5, {step} = 2, 1800 + {h} % 3600, 2700 + {h} % 7200), 'UTC')
        AS event_time,
    toUInt32(number % 1000000), event_time, toUInt32(number % 1000000),
    if({purchase}, 'api', 'notify'), concat('p', toString({h} % 2000000)), concat('c', toString({c})),
    if({c} % 4 = 0, 'SMS', 'EMAIL'), concat('m', toString({m})), if({h} % 2 = 0, 'control', 'b'),
    if({c} % 4 = 0, 'sms-a', if({h} % 3 = 0, 'smtp-b', 'smtp-a')),
    toUInt8({step} = 2 AND {h} % 7 = 0), toUInt8({purchase}),
    toInt64(multiIf({step} = 0, 900, {purchase}, 1000000 + {h} % 50000000, 0)),
    if({step} = 0 OR {purchase}, 'EUR', ''), '{{}}'
FROM numbers({offset}, {count})
"""


def generate(engine: SqlEngine, total: int, campaigns: int, label: str) -> float:
    base = int(datetime.now(UTC).replace(minute=0, second=0, microsecond=0).timestamp()) - 60 * 86400
    began = time.perf_counter()
    for offset in range(0, total, CHUNK):
        engine.execute(generate_sql(offset, min(CHUNK, total - offset), campaigns, base))
        done = min(offset + CHUNK, total)
        print(f"  {label}: {done:,} of {total:,} events generated ({time.perf_counter() - began:.0f} s)",
              file=sys.stderr, flush=True)
    return time.perf_counter() - began


def time_reports(engine: SqlEngine, campaigns: int, queries: int) -> tuple[float, float, list[str]]:
    """p50 and p95 in ms of campaign_report over `queries` random campaigns, after a warm-up; and any
    disagreement between a report and a plain count over the events table."""
    store = ColumnarEventStore(engine)
    picks = random.Random(12).choices(range(campaigns), k=queries)
    for k in picks[:5]:
        campaign_report(store, WORKSPACE, f"c{k}", lambda: datetime.now(UTC))
    timings = []
    for k in picks:
        began = time.perf_counter()
        campaign_report(store, WORKSPACE, f"c{k}", lambda: datetime.now(UTC))
        timings.append((time.perf_counter() - began) * 1000)
    problems = []
    report = campaign_report(store, WORKSPACE, f"c{picks[0]}", lambda: datetime.now(UTC))
    sent = int(engine.execute(f"SELECT count() FROM events WHERE workspace = '{WORKSPACE}' "
                              f"AND campaign = 'c{picks[0]}' AND type = 'message_sent'")[0][0])
    if report.totals.sent != sent or sent == 0:
        problems.append(f"{engine.name}: campaign c{picks[0]} report says sent {report.totals.sent}, events {sent}")
    return statistics.median(timings), percentile(timings, 0.95), problems


def settle(engine: SqlEngine, timeout: float = 300.0) -> int:
    """Waits for the engine's background merges to finish; the number of active campaign_hourly parts."""
    deadline = time.monotonic() + timeout
    while int(engine.execute("SELECT count() FROM system.merges")[0][0]) and time.monotonic() < deadline:
        time.sleep(0.5)
    return int(engine.execute("SELECT count() FROM system.parts WHERE active AND database = currentDatabase() "
                              "AND table = 'campaign_hourly'")[0][0])


def run_report(label: str, engine: SqlEngine, total: int, campaigns: int,
               queries: int) -> tuple[list[str], float, list[str]]:
    """Generates, times the reports as loaded (background merges done), then again after
    OPTIMIZE ... FINAL has merged campaign_hourly into one part per month."""
    seconds = generate(engine, total, campaigns, label)
    parts = settle(engine)
    p50, p95, problems = time_reports(engine, campaigns, queries)
    began = time.perf_counter()
    engine.execute("OPTIMIZE TABLE campaign_hourly FINAL")
    optimized = time.perf_counter() - began
    merged = settle(engine)
    p50_merged, p95_merged, more = time_reports(engine, campaigns, queries)
    lines = [f"report ({label})  {total:,} events across {campaigns:,} campaigns (generated in {seconds:.0f} s; "
             f"campaign_hourly in {parts} parts)  GetCampaignReport p50 {p50:.1f} ms  p95 {p95:.1f} ms",
             f"report ({label}, after OPTIMIZE FINAL: {merged} parts, {optimized:.0f} s)  "
             f"GetCampaignReport p50 {p50_merged:.1f} ms  p95 {p95_merged:.1f} ms"]
    return lines, p95, problems + more


# -- main -----------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="notify events through the ingest path")
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--report-events", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=200, help="reports timed per engine")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 12,000 ingest events, 40,000 report events, 20 campaigns, 20 reports")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.report_events, args.campaigns, args.queries = 12_000, 40_000, 20, 20
    print(f"bench/analytics: ingest {args.events:,} events; reports over {args.report_events:,} events across "
          f"{args.campaigns:,} campaigns, {args.queries} timed per engine", flush=True)
    began = time.perf_counter()
    failures: list[str] = []
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, clickhouse_server() as server_url:
        ingest_lines, ingest_failures, ratio, rss = run_ingest(server_url, Path(tmp), args.events, args.campaigns)
        for text in ingest_lines:
            print(text, flush=True)
        failures += ingest_failures
        fresh_database(server_url, REPORT_DB)
        server = ClickHouseServer(with_database(server_url, REPORT_DB))
        try:
            server_lines, server_p95, problems = run_report("ClickHouse server", server, args.report_events,
                                                           args.campaigns, args.queries)
        finally:
            server.close()
        print("\n".join(server_lines), flush=True)
        failures += problems
        chdb = EmbeddedChdb(Path(tmp) / "chdb")
        try:
            ColumnarEventStore(chdb).migrate()
            chdb_lines, chdb_p95, problems = run_report("chdb", chdb, args.report_events, args.campaigns, args.queries)
        finally:
            chdb.close()
        print("\n".join(chdb_lines), flush=True)
        failures += problems
        if os.environ.get("MKT_TEST_CLICKHOUSE_URL"):  # a throwaway server goes with its folder
            admin = client(server_url)
            for database in (SERVICE_DB, RAW_DB, REPORT_DB):
                admin.execute(f"DROP DATABASE IF EXISTS {database}")
            admin.disconnect()
    print(f"summary (run took {time.perf_counter() - began:.0f} s):", flush=True)
    print(f"  targets: ingest ratio >= {TARGET_RATIO}: {ratio:.2f} {verdict(ratio >= TARGET_RATIO)}", flush=True)
    print(f"  targets: report p95 on the ClickHouse server <= {TARGET_P95_MS:.0f} ms: {server_p95:.1f} ms "
          f"{verdict(server_p95 <= TARGET_P95_MS)} (chdb {chdb_p95:.1f} ms, no target)", flush=True)
    print(f"  targets: service peak RSS <= {TARGET_RSS_MIB} MiB: {rss:,.0f} MiB {verdict(rss <= TARGET_RSS_MIB)}",
          flush=True)
    for failure in failures:
        print(f"CHECK FAILED: {failure}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
