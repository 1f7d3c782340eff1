"""Profiles read from CSV or NDJSON files, as `mkt audience import` sends them
to ImportProfiles.

CSV: a header row; `id` is required; `email`, `phone`, `time_zone`, `locale`;
`attr.<key>[:<type>]` for custom attributes (type string, int, double, bool,
timestamp (ISO 8601) or list (values separated by `;`), string when left out);
`consent.<channel>` (email, sms, push, in_app) with granted, denied or pending.
Empty cells are left out.

NDJSON: one object per line: {"id": "u-1", "email": "...", "attributes": {"ltv": 120.5,
"vip": true, "tags": ["a", "b"], "birthday": {"timestamp": "1990-05-01T00:00:00Z"}},
"consents": {"email": "granted"}}. Numbers with a fraction are double, others int.

A line that cannot be read is rejected here, with its number and reason; the
service rejects what it refuses the same way. Exit code 0 when every line was
imported, 3 when some were rejected, 1 when the service could not be reached or
refused the call, 2 on bad usage.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import grpc

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import audience_service_pb2_grpc as pb_grpc
from marketing.audience.v1 import profile_pb2
from marketing.common.v1 import attribute_pb2, channel_pb2

from svc_audience.entrypoints.file_import import LineError, csv_columns, stream_import

CONSENT = {"granted": profile_pb2.Consent.STATUS_GRANTED, "denied": profile_pb2.Consent.STATUS_DENIED,
           "pending": profile_pb2.Consent.STATUS_PENDING}
CHANNELS = {"email": channel_pb2.CHANNEL_EMAIL, "sms": channel_pb2.CHANNEL_SMS, "push": channel_pb2.CHANNEL_PUSH,
            "in_app": channel_pb2.CHANNEL_IN_APP}
FIELDS = ("email", "phone", "time_zone", "locale")


def _attribute(key: str, kind: str, value) -> attribute_pb2.Attribute:
    attribute = attribute_pb2.Attribute(key=key)
    try:
        if kind == "string":
            attribute.string_value = str(value)
        elif kind == "int":
            attribute.int_value = int(value)
        elif kind == "double":
            attribute.double_value = float(value)
        elif kind == "bool":
            text = str(value).strip().lower()
            if text not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError(f"{value!r} is not true or false")
            attribute.bool_value = text in ("true", "yes", "1")
        elif kind == "timestamp":
            attribute.timestamp_value.FromDatetime(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
        elif kind == "list":
            values = value if isinstance(value, list) else [v.strip() for v in str(value).split(";") if v.strip()]
            attribute.string_list_value.values.extend(str(v) for v in values)
        else:
            raise LineError(f"attr.{key}", f"unknown type {kind!r}; use string, int, double, bool, timestamp, list")
    except LineError:
        raise
    except (ValueError, TypeError, OverflowError) as error:
        raise LineError(f"attr.{key}", f"not a {kind}: {error}") from None
    return attribute


def _consent(channel: str, status: str) -> profile_pb2.Consent:
    if channel not in CHANNELS:
        raise LineError(f"consent.{channel}", f"unknown channel; one of {', '.join(CHANNELS)}")
    if status.strip().lower() not in CONSENT:
        raise LineError(f"consent.{channel}", f"{status!r} is not granted, denied or pending")
    return profile_pb2.Consent(channel=CHANNELS[channel], status=CONSENT[status.strip().lower()],
                               source="import")


def csv_records(path: Path) -> Iterator[tuple[int, str, profile_pb2.Profile | LineError]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise SystemExit(f"{path}: the header row must have an `id` column")
        for row in reader:
            line = reader.line_num
            external_id = (row.get("id") or "").strip()
            try:
                if None in row:
                    raise LineError("", f"{len(row[None])} more cells than the header has columns")
                profile = profile_pb2.Profile()
                for column, cell in row.items():
                    cell = (cell or "").strip()
                    if column == "id" or not cell:
                        continue
                    if column in FIELDS:
                        setattr(profile, column, cell)
                    elif column.startswith("attr."):
                        key, _, kind = column[len("attr."):].partition(":")
                        profile.attributes.append(_attribute(key, kind or "string", cell))
                    elif column.startswith("consent."):
                        profile.consents.append(_consent(column[len("consent."):], cell))
                    else:
                        raise LineError(column, "unknown column; see `mkt audience import --help`")
                yield line, external_id, profile
            except LineError as error:
                yield line, external_id, error


def ndjson_records(path: Path) -> Iterator[tuple[int, str, profile_pb2.Profile | LineError]]:
    with path.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                item = json.loads(text)
                if not isinstance(item, dict):
                    raise LineError("", "not a JSON object")
            except json.JSONDecodeError as error:
                yield line, "", LineError("", f"not JSON: {error.msg} at column {error.colno}")
                continue
            except LineError as error:
                yield line, "", error
                continue
            external_id = str(item.get("id", ""))
            try:
                profile = profile_pb2.Profile(**{f: str(item[f]) for f in FIELDS if item.get(f)})
                for key, value in (item.get("attributes") or {}).items():
                    if isinstance(value, bool):
                        kind = "bool"
                    elif isinstance(value, int):
                        kind = "int"
                    elif isinstance(value, float):
                        kind = "double"
                    elif isinstance(value, list):
                        kind = "list"
                    elif isinstance(value, dict) and "timestamp" in value:
                        kind, value = "timestamp", value["timestamp"]
                    else:
                        kind = "string"
                    profile.attributes.append(_attribute(key, kind, value))
                for channel, status in (item.get("consents") or {}).items():
                    profile.consents.append(_consent(channel, str(status)))
                yield line, external_id, profile
            except LineError as error:
                yield line, external_id, error



def run_import(args) -> int:
    if not args.file.is_file():
        print(f"{args.file} is not a file", file=sys.stderr)
        return 2
    kind = args.format or ("ndjson" if args.file.suffix in (".ndjson", ".jsonl") else "csv")
    if kind == "csv" and "id" not in csv_columns(args.file):
        print(f"{args.file}: the header row must have an `id` column", file=sys.stderr)
        return 1
    reader = csv_records if kind == "csv" else ndjson_records
    first = pb.ImportProfilesRequest(parent=f"workspaces/{args.workspace}", replace=args.replace,
                                     validate_only=args.validate_only)
    with grpc.insecure_channel(args.target) as channel:
        stub = pb_grpc.AudienceServiceStub(channel)
        return stream_import(args.file, args.workspace, args.validate_only, "profiles", kind == "csv",
                             reader(args.file), first, pb.ImportProfilesRequest,
                             lambda line, external_id, item: pb.ProfileRecord(line=line, profile_id=external_id,
                                                                              profile=item),
                             lambda requests: stub.ImportProfiles(requests, timeout=3600), subject_label="id ")
