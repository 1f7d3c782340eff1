"""The suppression list from and to CSV or NDJSON files, through the running
audience service (gRPC ImportSuppressions / ExportSuppressions), with a
progress line on stderr: `mkt audience suppressions import|export`.

CSV: a header row with one subject column among `email`, `phone`, `profile` (a
profile id, or its name `workspaces/W/profiles/ID`), and `reason` (unsubscribed,
bounced, complained, manual); optional `channel` (email, sms, push, in_app;
empty or `all` for every channel), `note`, `expire_time` (ISO 8601, e.g.
2026-12-31T00:00:00Z), `source` (default `import`) and `campaign`. Each line
sets one subject cell. Columns an export writes (`name`, `create_time`,
`update_time`) are ignored, so an export imports back as it is.

NDJSON: one object per line with the same keys:
{"email": "ann@example.com", "channel": "email", "reason": "bounced", "note": "550 5.1.1"}.

An entry whose subject already has one on that channel is updated (reason,
note, expiry). A line that cannot be read is rejected here, with its number and
reason; the service rejects what it refuses the same way. Exit code 0 when
every line was imported, 3 when some were rejected, 1 when the service could
not be reached or refused the call, 2 on bad usage.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import audience_service_pb2_grpc as pb_grpc
from marketing.audience.v1 import suppression_pb2
from marketing.common.v1 import channel_pb2
from svc_kit.progress import Progress

from svc_audience.entrypoints.file_import import LineError, csv_columns, stream_import

SUBJECTS = ("email", "phone", "profile")
CHANNELS = {"email": channel_pb2.CHANNEL_EMAIL, "sms": channel_pb2.CHANNEL_SMS, "push": channel_pb2.CHANNEL_PUSH,
            "in_app": channel_pb2.CHANNEL_IN_APP, "all": channel_pb2.CHANNEL_UNSPECIFIED}
CHANNEL_NAMES = {v: k for k, v in CHANNELS.items()}
REASONS = {r.removeprefix("REASON_").lower(): v for r, v in suppression_pb2.Suppression.Reason.items()
           if v != suppression_pb2.Suppression.REASON_UNSPECIFIED}
REASON_NAMES = {v: k for k, v in REASONS.items()}
COLUMNS = (*SUBJECTS, "channel", "reason", "note", "expire_time", "source", "campaign")
IGNORED = ("name", "create_time", "update_time")
EXPORT_COLUMNS = ("name", *SUBJECTS, "channel", "reason", "note", "expire_time", "source", "campaign",
                  "create_time", "update_time")


def _suppression(item: dict[str, str], workspace: str) -> suppression_pb2.Suppression:
    """One record's entry; LineError naming the column for what cannot be read."""
    unknown = sorted(k for k, v in item.items() if v and k not in COLUMNS and k not in IGNORED)
    if unknown:
        raise LineError(unknown[0], "unknown column; see `mkt audience suppressions import --help`")
    subjects = [s for s in SUBJECTS if item.get(s)]
    if len(subjects) != 1:
        raise LineError(subjects[-1] if subjects else "", "set exactly one of email, phone, profile" if subjects
                        else "no subject: set one of email, phone, profile")
    entry = suppression_pb2.Suppression(note=item.get("note") or "", source=item.get("source") or "import")
    (kind,) = subjects
    value = item[kind]
    if kind == "profile" and not value.startswith("workspaces/"):
        value = f"workspaces/{workspace}/profiles/{value}"
    setattr(entry, kind, value)
    channel = (item.get("channel") or "all").lower().removeprefix("channel_")
    if channel == "unspecified":
        channel = "all"
    if channel not in CHANNELS:
        raise LineError("channel", f"{item['channel']!r} is not one of {', '.join(CHANNELS)}")
    entry.channel = CHANNELS[channel]
    reason = (item.get("reason") or "").lower().removeprefix("reason_")
    if reason not in REASONS:
        raise LineError("reason", f"{item.get('reason') or ''!r} is not one of {', '.join(REASONS)}")
    entry.reason = REASONS[reason]
    if item.get("expire_time"):
        try:
            expire = datetime.fromisoformat(item["expire_time"])
        except ValueError:
            raise LineError("expire_time", f"{item['expire_time']!r} is not an ISO 8601 time") from None
        if expire.tzinfo is None:
            expire = expire.replace(tzinfo=UTC)
        entry.expire_time.FromDatetime(expire)
    if item.get("campaign"):
        campaign = item["campaign"]
        entry.campaign = campaign if campaign.startswith("workspaces/") else f"workspaces/{workspace}/campaigns/{campaign}"
    return entry


def _subject(item: dict[str, str]) -> str:
    return next((item[s] for s in SUBJECTS if item.get(s)), "")


Records = Iterator[tuple[int, str, suppression_pb2.Suppression | LineError]]


def csv_records(path: Path, workspace: str) -> Records:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not set(SUBJECTS) & set(reader.fieldnames):
            raise SystemExit(f"{path}: the header row must have an email, phone or profile column")
        for row in reader:
            line = reader.line_num
            item = {k: (v or "").strip() for k, v in row.items() if k is not None}
            try:
                if None in row:
                    raise LineError("", f"{len(row[None])} more cells than the header has columns")
                yield line, _subject(item), _suppression(item, workspace)
            except LineError as error:
                yield line, _subject(item), error


def ndjson_records(path: Path, workspace: str) -> Records:
    with path.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                item = json.loads(text)
            except json.JSONDecodeError as error:
                yield line, "", LineError("", f"not JSON: {error.msg} at column {error.colno}")
                continue
            if not isinstance(item, dict):
                yield line, "", LineError("", "not a JSON object")
                continue
            item = {str(k): "" if v is None else str(v) for k, v in item.items()}
            try:
                yield line, _subject(item), _suppression(item, workspace)
            except LineError as error:
                yield line, _subject(item), error


def _format_of(path: Path | None, given: str | None) -> str:
    if given:
        return given
    return "ndjson" if path is not None and path.suffix in (".ndjson", ".jsonl") else "csv"


def run_import(args) -> int:
    if not args.file.is_file():
        print(f"{args.file} is not a file", file=sys.stderr)
        return 2
    kind = _format_of(args.file, args.format)
    if kind == "csv" and not set(SUBJECTS) & set(csv_columns(args.file)):
        print(f"{args.file}: the header row must have an email, phone or profile column", file=sys.stderr)
        return 1
    reader = csv_records if kind == "csv" else ndjson_records
    first = pb.ImportSuppressionsRequest(parent=f"workspaces/{args.workspace}", validate_only=args.validate_only)
    with grpc.insecure_channel(args.target) as channel:
        stub = pb_grpc.AudienceServiceStub(channel)
        return stream_import(args.file, args.workspace, args.validate_only, "entries", kind == "csv",
                            reader(args.file, args.workspace), first, pb.ImportSuppressionsRequest,
                            lambda line, subject, item: pb.SuppressionRecord(line=line, suppression=item),
                            lambda requests: stub.ImportSuppressions(requests, timeout=3600))


def _row(s: suppression_pb2.Suppression) -> dict[str, str]:
    def time(field: str) -> str:
        return getattr(s, field).ToJsonString() if s.HasField(field) else ""

    kind = s.WhichOneof("subject") or ""
    row = dict.fromkeys(EXPORT_COLUMNS, "")
    row.update(name=s.name, channel=CHANNEL_NAMES.get(s.channel, str(s.channel)),
               reason=REASON_NAMES.get(s.reason, str(s.reason)), note=s.note, expire_time=time("expire_time"),
               source=s.source, campaign=s.campaign.rsplit("/", 1)[-1], create_time=time("create_time"),
               update_time=time("update_time"))
    if kind:
        row[kind] = getattr(s, kind).rsplit("/", 1)[-1] if kind == "profile" else getattr(s, kind)
    return row


def run_export(args) -> int:
    kind = _format_of(args.output, args.format)
    progress = Progress(0, f"exporting workspaces/{args.workspace}", "entries")
    request = pb.ExportSuppressionsRequest(parent=f"workspaces/{args.workspace}", filter=args.filter,
                                           batch_size=args.batch_size)
    # A file is written under a temporary name and renamed once complete.
    partial = args.output.with_name(f".{args.output.name}.partial") if args.output else None
    out = partial.open("w", newline="", encoding="utf-8") if partial else sys.stdout
    writer = csv.DictWriter(out, EXPORT_COLUMNS, lineterminator="\n") if kind == "csv" else None
    if writer:
        writer.writeheader()
    count = 0
    try:
        with grpc.insecure_channel(args.target) as channel:
            for batch in pb_grpc.AudienceServiceStub(channel).ExportSuppressions(request, timeout=3600):
                for s in batch.suppressions:
                    row = _row(s)
                    if writer:
                        writer.writerow(row)
                    else:
                        out.write(json.dumps({k: v for k, v in row.items() if v}, ensure_ascii=False) + "\n")
                count += len(batch.suppressions)
                progress.advance(len(batch.suppressions))
    except grpc.RpcError as error:
        progress.finish()
        print(f"export failed: {error.code().name}: {error.details()}", file=sys.stderr)
        if partial:
            out.close()
            partial.unlink(missing_ok=True)
        return 1
    elapsed = progress.finish()
    if partial:
        out.close()
        partial.replace(args.output)
    else:
        out.flush()
    where = str(args.output) if args.output else "standard output"
    print(f"exported {count} entries of workspaces/{args.workspace} to {where} as {kind} in {elapsed:.1f} s",
          file=sys.stdout if args.output else sys.stderr)
    return 0

