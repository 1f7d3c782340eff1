"""bench/delivery: personalised emails and SMS through the notify service (its
batch API, its dispatcher, its database and outbox), next to a raw baseline
measured in the same run against the same local servers.

- raw email: aiosmtplib sending pre-rendered messages to the devstack SMTP
  sink over as many sessions as the notify service's default provider uses;
- raw SMS: httpx posting Twilio-style requests to the devstack provider sink,
  as many at once as the notify dispatcher sends;
- notify: `python -m svc_notify` in a process of its own (SQLite under a
  temporary state folder, the embedded bus), fed by BatchSendMessages in
  batches of 1,000 with inline content personalised per recipient; the time
  runs from the first batch to the last message received by the sink.

The audience service is stood in for by a small in-memory gRPC server in a
process of its own (BatchGetProfiles and CheckReachability over synthetic
profiles), so the run measures notify rather than the audience store.

Prints messages/s and the ratio to raw (target >= 0.70), the notify process's
peak RSS (target < 512 MiB), and checks that every message arrived exactly once.

    python -m bench.delivery [--emails 100000] [--sms 100000] [--baseline 20000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.processes import free_port
from devstack.servers.provider_sink import ProviderSinkProcess, read_requests
from devstack.servers.smtp_sink import SmtpSinkProcess, read_messages
from marketing.common.v1 import channel_pb2, message_content_pb2
from marketing.notify.v1 import (
    message_pb2,
    notify_service_pb2,
    notify_service_pb2_grpc,
    provider_pb2,
)
from svc_notify.adapters import http_senders
from svc_notify.config import DEFAULT_SMTP_CONNECTIONS

TARGET_RATIO = 0.70
TARGET_RSS_MIB = 512
WORKSPACE = "bench"
SMTP_SESSIONS = DEFAULT_SMTP_CONNECTIONS  # as many as the notify service opens to its default SMTP server
HTTP_IN_FLIGHT = http_senders.HTTP_IN_FLIGHT  # what the dispatcher has in flight on one HTTP provider
BATCH = 1000
BATCHES_IN_FLIGHT = 2


def phone(i: int) -> str:
    return f"+3361{i:07d}"


def first_name(i: int) -> str:
    return ("Ann", "Bob", "Cat", "Dan", "Eve", "Fay", "Gus", "Hal")[i % 8] + f" #{i}"


def email_body(i: int) -> tuple[str, str, str]:
    name = first_name(i)
    return (f"{name}, your spring offer", f"Hello {name},\n\nTwenty percent off everything until Sunday.\n",
            f"<html><body><h1>Hello {name}</h1><p>Twenty percent off everything until Sunday.</p>"
            f"<p><a href=\"https://shop.example.com/sale?u={i}\">Shop now</a></p></body></html>")


# -- the audience stand-in ---------------------------------------------------------------------------


def serve_audience(port: int) -> None:
    from marketing.audience.v1 import audience_service_pb2 as pb
    from marketing.audience.v1 import audience_service_pb2_grpc as pb_grpc
    from marketing.audience.v1 import profile_pb2

    def profile(name: str):
        external = name.rsplit("/", 1)[1]
        i = int(external.split("-")[1])
        return profile_pb2.Profile(name=name, email=f"{external}@bench.example", phone=phone(i),
                                   time_zone="Europe/Paris")

    class Audience(pb_grpc.AudienceServiceServicer):
        async def BatchGetProfiles(self, request, context):
            return pb.BatchGetProfilesResponse(profiles=[profile(n) for n in request.names])

        async def GetProfile(self, request, context):
            return profile(request.name)

        async def CheckReachability(self, request, context):
            return pb.CheckReachabilityResponse(results=[pb.Reachability(profile=p, reachable=True)
                                                         for p in request.profiles])

    async def main() -> None:
        server = grpc.aio.server()
        pb_grpc.add_AudienceServiceServicer_to_server(Audience(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await server.stop(1)

    asyncio.run(main())


# -- raw baselines -----------------------------------------------------------------------------------


async def raw_emails(address: str, count: int) -> float:
    import aiosmtplib

    from svc_kit.clock import utcnow
    from svc_notify.adapters import mime
    from svc_notify.domain.model import EmailContent

    host, port = address.split(":")
    now = utcnow()
    rendered = []
    for i in range(count):
        subject, text, html = email_body(i)
        to = f"raw-{i}@bench.example"
        rendered.append((to, mime.build(EmailContent(subject=subject, text=text, html=html), "news@bench.example",
                                        "Bench", to, f"<raw-{i}@bench.example>", now)))
    queue = iter(rendered)

    async def session() -> None:
        client = aiosmtplib.SMTP(hostname=host, port=int(port), start_tls=False, timeout=30)
        await client.connect()
        for to, data in queue:
            await client.sendmail("news@bench.example", [to], data)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(session() for _ in range(SMTP_SESSIONS)))
    return count / (time.perf_counter() - started)


async def raw_sms(base_url: str, count: int) -> float:
    import httpx

    from svc_notify.adapters.http_senders import skip_missing_sniffio

    skip_missing_sniffio()  # the same httpx set-up the notify service runs with

    url = f"{base_url}/2010-04-01/Accounts/ACbench/Messages.json"
    queue = iter(range(count))
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=HTTP_IN_FLIGHT,
                                                                  max_keepalive_connections=HTTP_IN_FLIGHT)) as client:
        async def worker() -> None:
            for i in queue:
                response = await client.post(url, data={"To": phone(i), "From": "+15550001111",
                                                        "Body": f"Hello {first_name(i)}, 20% off until Sunday"},
                                             auth=("ACbench", "raw-token"), headers={"Idempotency-Key": f"raw-{i}"})
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(HTTP_IN_FLIGHT)))
    return count / (time.perf_counter() - started)


# -- the notify service ------------------------------------------------------------------------------


class Notify:
    def __init__(self, folder: Path, smtp_address: str, audience_port: int):
        self.port = free_port()
        self.folder = folder
        env = {**os.environ, "MKT_STATE_DIR": str(folder), "MKT_NOTIFY_GRPC_PORT": str(self.port),
               "MKT_NOTIFY_METRICS_PORT": str(free_port()), "MKT_AUDIENCE_TARGET": f"127.0.0.1:{audience_port}",
               "MKT_CONTENT_TARGET": f"127.0.0.1:{free_port()}", "MKT_NOTIFY_DEFAULT_SMTP": smtp_address,
               "MKT_NOTIFY_DEFAULT_FROM": "Bench <news@bench.example>", "MKT_BUS": "embedded",
               "MKT_BUS_PATH": str(folder / "bus.sqlite3"), "MKT_SECRET_BENCH_SMS": "bench-token",
               "MKT_LOG_LEVEL": "WARNING"}
        env.pop("MKT_NOTIFY_DATABASE_URL", None)
        folder.mkdir(parents=True, exist_ok=True)
        self.log = open(folder / "notify.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", "svc_notify"], env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}",
                                                 options=[("grpc.max_send_message_length", 64 << 20)])
        self.stub = notify_service_pb2_grpc.NotifyServiceStub(self.channel)

    async def ready(self, timeout: float = 60) -> None:
        health = health_pb2_grpc.HealthStub(self.channel)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the notify service exited; see {self.folder / 'notify.log'}")
            with contextlib.suppress(grpc.aio.AioRpcError):
                answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("the notify service did not become ready")
            await asyncio.sleep(0.2)

    def cpu_seconds(self) -> float:
        """User and system CPU time the notify process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self) -> None:
        await self.channel.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def email_request(i: int) -> notify_service_pb2.SendMessageRequest:
    subject, text, html = email_body(i)
    return notify_service_pb2.SendMessageRequest(message=message_pb2.Message(
        channel=channel_pb2.CHANNEL_EMAIL, recipient=f"workspaces/{WORKSPACE}/profiles/u-{i}",
        idempotency_key=f"spring/u-{i}/EMAIL/1", category=message_content_pb2.MESSAGE_CATEGORY_MARKETING,
        campaign=f"workspaces/{WORKSPACE}/campaigns/spring",
        content=message_content_pb2.RenderedContent(email=message_content_pb2.RenderedEmail(
            subject=subject, text=text, html=html))))


def sms_request(i: int) -> notify_service_pb2.SendMessageRequest:
    return notify_service_pb2.SendMessageRequest(message=message_pb2.Message(
        channel=channel_pb2.CHANNEL_SMS, recipient=f"workspaces/{WORKSPACE}/profiles/u-{i}",
        idempotency_key=f"spring/u-{i}/SMS/1", category=message_content_pb2.MESSAGE_CATEGORY_TRANSACTIONAL,
        content=message_content_pb2.RenderedContent(sms=message_content_pb2.RenderedSms(
            body=f"Hello {first_name(i)}, 20% off until Sunday"))))


class LineCounter:
    """Counts the lines a sink appends to its store, reading only what is new."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self.lines = 0

    def count(self) -> int:
        if self.path.exists():
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
            complete = chunk.rfind(b"\n") + 1
            self.lines += chunk.count(b"\n", 0, complete)
            self.offset += complete
        return self.lines


async def through_notify(notify: Notify, make, count: int, store: Path,
                         timeout: float) -> tuple[float, float, list[str]]:
    """Sends `count` messages in batches; returns messages/s (first batch to last arrival), the
    notify process's CPU milliseconds per message, and refusals."""
    counter = LineCounter(store)
    cpu = notify.cpu_seconds()
    refusals: list[str] = []
    gate = asyncio.Semaphore(BATCHES_IN_FLIGHT)

    async def batch(start: int) -> None:
        async with gate:
            request = notify_service_pb2.BatchSendMessagesRequest(
                parent=f"workspaces/{WORKSPACE}", requests=[make(i) for i in range(start, min(start + BATCH, count))])
            answer = await notify.stub.BatchSendMessages(request, timeout=120)
            refusals.extend(r.error.message for r in answer.results if r.HasField("error"))

    started = time.perf_counter()
    feeding = asyncio.gather(*(batch(s) for s in range(0, count, BATCH)))
    deadline = time.monotonic() + timeout
    while counter.count() < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {counter.lines} of {count} messages arrived within {timeout:.0f} s")
        if feeding.done() and feeding.exception():
            raise feeding.exception()
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await feeding
    return count / elapsed, (notify.cpu_seconds() - cpu) / count * 1000, refusals


def check_emails(store: Path, count: int) -> tuple[int, int, int]:
    """(distinct bench emails, duplicates, missing) among what the sink stored."""
    ids = Counter(m["message_id"] for m in read_messages(store) if m["message_id"].endswith(f".{WORKSPACE}@bench.example>"))
    expected = count
    return len(ids), sum(n - 1 for n in ids.values()), max(expected - len(ids), 0)


def check_sms(store: Path, count: int) -> tuple[int, int, int]:
    keys = Counter(r["idempotency_key"] for r in read_requests(store)
                   if r["api"] == "twilio" and r["idempotency_key"].startswith(f"workspaces/{WORKSPACE}/messages/"))
    return len(keys), sum(n - 1 for n in keys.values()), max(count - len(keys), 0)


def line(kind: str, raw_name: str, raw: float, notify: float) -> str:
    ratio = notify / raw if raw else float("nan")
    met = "met" if ratio >= TARGET_RATIO else "NOT met"
    return (f"{kind:<6} raw {raw_name:<10} {raw:>9,.0f} messages/s   notify {notify:>9,.0f} messages/s   "
            f"ratio {ratio:.2f} (target >= {TARGET_RATIO:.2f}: {met})")


async def run(emails: int, sms: int, baseline: int, timeout: float) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        folder = Path(tmp)
        audience_port = free_port()
        stand_in = subprocess.Popen([sys.executable, "-m", "bench.delivery", "--serve-audience", str(audience_port)],
                                    stdin=subprocess.DEVNULL)
        smtp = SmtpSinkProcess(folder / "smtp" / "messages.jsonl").start()
        http = ProviderSinkProcess(folder / "providers" / "requests.jsonl").start()
        notify = None
        try:
            print(f"bench/delivery: {emails:,} emails and {sms:,} SMS through notify; raw baselines of "
                  f"{min(baseline, emails):,} emails ({SMTP_SESSIONS} SMTP sessions) and {min(baseline, sms):,} SMS "
                  f"({HTTP_IN_FLIGHT} requests in flight); sinks and the notify service run in processes of their own",
                  flush=True)
            raw_email_rate = await raw_emails(smtp.address, min(baseline, emails)) if emails else 0.0
            raw_sms_rate = await raw_sms(http.base_url, min(baseline, sms)) if sms else 0.0
            notify = Notify(folder / "notify", smtp.address, audience_port)
            await notify.ready()
            await notify.stub.CreateProvider(notify_service_pb2.CreateProviderRequest(
                parent=f"workspaces/{WORKSPACE}", provider_id="sms", provider=provider_pb2.Provider(
                    display_name="Bench SMS", channel=channel_pb2.CHANNEL_SMS, twilio=provider_pb2.TwilioConfig(
                        base_url=http.base_url, account_sid="ACbench", auth_token_secret="bench-sms",
                        from_number="+15550001111"))), timeout=10)
            notify_email_rate = notify_sms_rate = email_cpu = sms_cpu = 0.0
            refused: list[str] = []
            if emails:
                notify_email_rate, email_cpu, bad = await through_notify(notify, email_request, emails, smtp.store,
                                                                         timeout)
                refused += bad
            if sms:
                notify_sms_rate, sms_cpu, bad = await through_notify(notify, sms_request, sms, http.store, timeout)
                refused += bad
            rss = notify.peak_rss_mib()
            if emails:
                print(line("email", "aiosmtplib", raw_email_rate, notify_email_rate), flush=True)
            if sms:
                print(line("sms", "httpx", raw_sms_rate, notify_sms_rate), flush=True)
            print(f"notify CPU per message (API, dispatcher, database, outbox relay): email {email_cpu:.2f} ms, "
                  f"sms {sms_cpu:.2f} ms", flush=True)
            print(f"notify peak RSS {rss:,.0f} MiB (target < {TARGET_RSS_MIB} MiB: "
                  f"{'met' if rss < TARGET_RSS_MIB else 'NOT met'})", flush=True)
            await asyncio.sleep(0.5)  # the sinks flush each record as it arrives; let late duplicates show
            got_e, dup_e, missing_e = check_emails(smtp.store, emails)
            got_s, dup_s, missing_s = check_sms(http.store, sms)
            exact = not (dup_e or dup_s or missing_e or missing_s or refused)
            print(f"exactly once: {got_e:,} of {emails:,} emails and {got_s:,} of {sms:,} SMS arrived; "
                  f"{dup_e + dup_s} duplicates, {missing_e + missing_s} missing, {len(refused)} refused"
                  + ("" if exact else f" -- FAILED{': ' + refused[0] if refused else ''}"), flush=True)
            return 0 if exact else 1
        finally:
            if notify is not None:
                await notify.stop()
            smtp.stop()
            http.stop()
            stand_in.send_signal(signal.SIGTERM)
            stand_in.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve-audience"]:
        serve_audience(int(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=100_000)
    parser.add_argument("--sms", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=20_000, help="messages per raw baseline (default 20,000)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds each notify run may take")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 of each")
    args = parser.parse_args(argv)
    if args.quick:
        args.emails, args.sms, args.baseline = 300, 300, 300
    return asyncio.run(run(args.emails, args.sms, args.baseline, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
