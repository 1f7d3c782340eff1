"""bench/launch: one email campaign to every recipient, on the whole platform
with its embedded defaults (`make run`'s stores: SQLite, nx-27017, the embedded
bus), scheduled a few seconds ahead and started by the campaign service's
scheduler, next to a floor measured in the same run against the same sink.

- setup (not timed): the platform on free ports under a temporary state folder;
  N profiles imported through ImportProfiles (messages of 500 records, as the
  import CLI sends them); a segment selecting all of them (the run waits until
  its upkeep counts N members); a published email template personalised with
  Liquid; a campaign with `schedule.startTime` a few seconds ahead, then
  `:schedule` (no `:start`).
- the launch: from the start time to the last email accepted by the devstack
  SMTP sink: the scheduler fires, the launch snapshots the segment and hands
  the messages to notify in batches, notify renders each through the content
  service and sends it over SMTP. Progress (launch state, handed over, in the
  sink) prints every few seconds.
- the floor: the same template rendered per recipient with python-liquid, built
  into MIME by notify's own builder and handed to the same sink with aiosmtplib
  over as many sessions as notify opens to its default SMTP server; no
  platform, no database, no bus.

Prints wall time, messages/s, the ratio to the floor, and peak RSS (VmHWM) of
every platform child; checks that every recipient got exactly one email (a
mismatch exits 1). The issue sets no target for these figures.

    python -m bench.launch [--recipients 100000] [--floor N] [--lead 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import grpc

from devstack.servers import smtp_sink
from devstack.servers.platform import Platform, free_platform_ports
from devstack.tools.demo import Edge
from edge.limits import HIGH_LIMITS
from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import audience_service_pb2_grpc as pb_grpc
from marketing.audience.v1 import profile_pb2
from marketing.common.v1 import attribute_pb2, channel_pb2
from svc_audience.entrypoints.file_import import BATCH as IMPORT_MESSAGE_RECORDS
from svc_notify.config import DEFAULT_SMTP_CONNECTIONS

WORKSPACE = "bench-launch"
DOMAIN = "launch.bench.example"
FLOOR_DOMAIN = "floor.bench.example"
SMTP_SESSIONS = DEFAULT_SMTP_CONNECTIONS
SUBJECT = "{{ profile.first_name }}, your spring offer"
HTML = ("<html><body><h1>Hello {{ profile.first_name | default: \"friend\" }}</h1>"
        "<p>You have spent {{ profile.attributes.ltv }} EUR with us. Twenty percent off until Sunday.</p>"
        "<p><a href=\"https://shop.example.com/sale?who={{ profile.external_id }}\">Shop now</a></p></body></html>")
TEXT = "Hello {{ profile.first_name }},\n\nTwenty percent off everything until Sunday.\n"
PROGRESS_EVERY = 5.0



def first_name(i: int) -> str:
    return ("Ann", "Bob", "Cat", "Dan", "Eve", "Fay", "Gus", "Hal")[i % 8]


def ltv(i: int) -> float:
    return float(10 + i % 990)


def record(i: int) -> pb.ProfileRecord:
    return pb.ProfileRecord(line=i + 1, profile_id=f"p{i:07d}", profile=profile_pb2.Profile(
        email=f"user{i}@{DOMAIN}", time_zone="Europe/Paris",
        attributes=[attribute_pb2.Attribute(key="first_name", string_value=first_name(i)),
                    attribute_pb2.Attribute(key="ltv", double_value=ltv(i))],
        consents=[profile_pb2.Consent(channel=channel_pb2.CHANNEL_EMAIL, status=profile_pb2.Consent.STATUS_GRANTED,
                                      source="bench")]))


def import_profiles(port: int, count: int) -> pb.ImportProfilesResponse:
    def stream():
        for start in range(0, count, IMPORT_MESSAGE_RECORDS):
            end = min(start + IMPORT_MESSAGE_RECORDS, count)
            message = pb.ImportProfilesRequest(records=[record(i) for i in range(start, end)])
            if start == 0:
                message.parent = f"workspaces/{WORKSPACE}"
            yield message

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return pb_grpc.AudienceServiceStub(channel).ImportProfiles(stream(), timeout=3600)


def wait_for(what: str, probe, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(every)


class SinkCounter:
    """Counts the lines the sink appends to its store, reading only what is new."""

    def __init__(self, path: Path):
        self.path, self.offset, self.lines = path, 0, 0

    def count(self) -> int:
        if self.path.exists():
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
            complete = chunk.rfind(b"\n") + 1
            self.lines += chunk.count(b"\n", 0, complete)
            self.offset += complete
        return self.lines


def recipients_in(store: Path, domain: str) -> Counter:
    counts: Counter = Counter()
    with open(store, encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n"):
                for to in json.loads(line)["rcpt_tos"]:
                    if to.endswith("@" + domain):
                        counts[to] += 1
    return counts


async def floor(address: str, count: int) -> float:
    """Messages/s of python-liquid rendering plus aiosmtplib hand-off, rendering timed with sending."""
    import aiosmtplib
    from liquid import Environment

    from svc_kit.clock import utcnow
    from svc_notify.adapters import mime
    from svc_notify.domain.model import EmailContent

    env = Environment()
    subject, html, text = (env.from_string(s) for s in (SUBJECT, HTML, TEXT))
    host, port = address.split(":")
    now = utcnow()
    queue = iter(range(count))

    async def session() -> None:
        client = aiosmtplib.SMTP(hostname=host, port=int(port), start_tls=False, timeout=30)
        await client.connect()
        for i in queue:
            profile = {"first_name": first_name(i), "external_id": f"p{i:07d}",
                       "attributes": {"first_name": first_name(i), "ltv": ltv(i)}}
            to = f"user{i}@{FLOOR_DOMAIN}"
            content = EmailContent(subject=subject.render(profile=profile), text=text.render(profile=profile),
                                   html=html.render(profile=profile))
            data = mime.build(content, "news@bench.example", "Bench", to, f"<floor-{i}@bench.example>", now)
            await client.sendmail("news@bench.example", [to], data)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(session() for _ in range(SMTP_SESSIONS)))
    return count / (time.perf_counter() - started)


def peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def start_platform(state: Path) -> tuple[Platform, int, int]:
    env: dict = free_platform_ports()
    edge_port = env["MKT_EDGE_PORT"]
    env.update(HIGH_LIMITS)  # the edge's rate limits never refuse the benchmark's calls
    platform = Platform(state, {**os.environ, **{k: str(v) for k, v in env.items()}}, out=io.StringIO())
    platform.start()
    platform.wait_ready(timeout=120)
    return platform, edge_port, env["MKT_AUDIENCE_GRPC_PORT"]


def setup(edge: Edge, audience_port: int, n: int, timeout: float) -> tuple[str, str]:
    began = time.perf_counter()
    summary = import_profiles(audience_port, n)
    print(f"setup: imported {summary.inserted + summary.updated:,} of {n:,} profiles "
          f"({summary.rejected} rejected) in {time.perf_counter() - began:.1f} s", flush=True)
    segment = edge.call("POST", f"/v1/workspaces/{WORKSPACE}/segments?segmentId=everyone", {
        "displayName": "Everyone", "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 0})})
    began = time.perf_counter()
    wait_for(f"the segment to count {n:,} members",
             lambda: int(edge.call("GET", f"/v1/{segment['name']}").get("size", 0)) >= n, timeout, every=1.0)
    print(f"setup: segment {segment['name']} counts {n:,} members after {time.perf_counter() - began:.1f} s",
          flush=True)
    template = edge.call("POST", f"/v1/workspaces/{WORKSPACE}/templates?templateId=spring", {
        "displayName": "Spring", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": SUBJECT, "html": HTML, "text": TEXT}}})
    edge.call("POST", f"/v1/{template['name']}:publish", {})
    return segment["name"], template["name"]


def launch(edge: Edge, segment: str, template: str, store: Path, n: int, lead: float,
           timeout: float) -> tuple[float, float]:
    """Schedules the campaign `lead` s ahead; returns (seconds from the start time to the last email in
    the sink, seconds from the start time to RUNNING)."""
    start_at = int(time.time() + lead) + 1
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_at))
    campaign = edge.call("POST", f"/v1/workspaces/{WORKSPACE}/campaigns", {
        "displayName": "Bench launch", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": start, "timeZone": "Europe/Paris"}})
    state = edge.call("POST", f"/v1/{campaign['name']}:schedule", {})["state"]
    print(f"launch: {campaign['name']} startTime {start}, :schedule -> {state}", flush=True)
    counter = SinkCounter(store)
    running_after = float("nan")
    deadline = time.monotonic() + lead + timeout
    last_print = 0.0
    while True:
        got = counter.count()
        now = time.time()
        if running_after != running_after:  # nan: not RUNNING yet
            body = edge.call("GET", f"/v1/{campaign['name']}")
            if body["state"] != "STATE_SCHEDULED":
                running_after = now - start_at
                print(f"launch: {body['state']} by itself {running_after:+.1f} s from the start time", flush=True)
        if got >= n:
            return time.time() - start_at, running_after
        if time.monotonic() - last_print >= PROGRESS_EVERY and now > start_at:
            last_print = time.monotonic()
            body = edge.call("GET", f"/v1/{campaign['name']}/launch", missing_ok=True) or {}
            handed = sum(int(t.get("sent", 0)) for t in body.get("targets", []))
            print(f"  {now - start_at:6.1f} s  launch {body.get('state', '-')}: {handed:,} handed to notify, "
                  f"{got:,} in the sink", flush=True)
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {got:,} of {n:,} emails reached the sink within {timeout:.0f} s")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--floor", type=int, default=None, help="emails in the floor run (default: --recipients)")
    parser.add_argument("--lead", type=float, default=5.0, help="seconds ahead the campaign is scheduled")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds the launch may take")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 recipients")
    args = parser.parse_args(argv)
    if args.quick:
        args.recipients = 300
    n = args.recipients
    floor_n = args.floor or n
    with tempfile.TemporaryDirectory(prefix="bench-launch-") as tmp:
        state = Path(tmp)
        print(f"bench/launch: {n:,} recipients, one email each, through the platform on embedded defaults "
              f"(state {state}); floor: {floor_n:,} emails rendered with python-liquid and sent with aiosmtplib "
              f"over {SMTP_SESSIONS} sessions to the same SMTP sink", flush=True)
        platform, edge_port, audience_port = start_platform(state)
        try:
            store = state / smtp_sink.STORE_NAME
            edge = Edge(f"http://127.0.0.1:{edge_port}",
                        platform.dev_token({WORKSPACE: "admin"}, subject="bench-launch") or "")
            segment, template = setup(edge, audience_port, n, args.timeout)
            wall, running_after = launch(edge, segment, template, store, n, args.lead, args.timeout)
            rate = n / wall
            rss = {child.name: peak_rss_mib(child.process.pid) for child in platform.children
                   if child.process is not None}
            floor_rate = asyncio.run(floor(f"127.0.0.1:{platform.smtp_sink_port}", floor_n))
            time.sleep(0.5)  # the sink writes each email as it accepts it; let late duplicates show
            got = recipients_in(store, DOMAIN)
            floor_got = recipients_in(store, FLOOR_DOMAIN)
        finally:
            platform.stop()
    ratio = rate / floor_rate if floor_rate else float("nan")
    print(f"launch   wall {wall:.1f} s from the start time to the last email in the sink "
          f"(RUNNING {running_after:+.1f} s from the start time)")
    print(f"launch   {rate:>9,.0f} messages/s   floor {floor_rate:>9,.0f} messages/s   ratio {ratio:.2f}")
    print("peak RSS (VmHWM) per platform child: " + ", ".join(f"{name} {mib:,.0f} MiB" for name, mib in rss.items()))
    expected = {f"user{i}@{DOMAIN}" for i in range(n)}
    duplicates = sum(c - 1 for c in got.values())
    missing = len(expected - set(got))
    strangers = len(set(got) - expected)
    floor_ok = len(floor_got) == floor_n and sum(floor_got.values()) == floor_n
    exact = not (duplicates or missing or strangers) and floor_ok
    print(f"exactly once: {len(got):,} of {n:,} recipients got their email; {duplicates} duplicates, "
          f"{missing} missing, {strangers} unexpected; floor {len(floor_got):,} of {floor_n:,}"
          + ("" if exact else " -- FAILED"))
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
