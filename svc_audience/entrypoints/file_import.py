"""What `mkt audience import` and `mkt audience suppressions import` share: count the lines,
stream the parsed records to the service in batches with a progress line,
then print one summary with every rejected line (the reader's and the
service's) and exit 3 when any was rejected."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import grpc

from svc_kit.progress import Progress

BATCH = 500


class LineError(ValueError):
    """A line the reader could not make a record of."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


class FileProblem(ValueError):
    """A file that cannot be imported at all; the message says why."""


def count_lines(path: Path, has_header: bool) -> int:
    """The records to expect (for the progress bar); FileProblem when the file is not UTF-8 text,
    found here rather than half-way through the stream."""
    lines = 0
    with path.open("rb") as handle:
        for line in handle:
            lines += 1
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise FileProblem(f"{path}: line {lines} is not UTF-8 text ({error.reason})") from None
    return lines - (1 if has_header else 0)


def csv_columns(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle).fieldnames or [])


def stream_import(path: Path, workspace: str, validate_only: bool, noun: str, has_header: bool,
               parsed: Iterable[tuple[int, str, Any]], first_request: Any, new_request: Callable[[], Any],
               make_record: Callable[[int, str, Any], Any], call: Callable[[Iterator[Any]], Any],
               subject_label: str = "") -> int:
    """`parsed` yields (line, subject, record data or LineError); `call` sends
    the request stream and returns the service's summary; a rejected line is
    reported as `line N (<subject_label><subject>): ...`."""
    try:
        total = count_lines(path, has_header)
    except FileProblem as error:
        print(error, file=sys.stderr)
        return 1
    progress = Progress(total, f"importing {path.name}", "lines")
    local_rejections: list[tuple[int, str, str, str]] = []

    def requests() -> Iterator[Any]:
        request, records = first_request, []
        for line, subject, item in parsed:
            progress.advance()
            if isinstance(item, LineError):
                local_rejections.append((line, subject, item.field, str(item)))
                continue
            records.append(make_record(line, subject, item))
            if len(records) >= BATCH:
                request.records.extend(records)
                yield request
                request, records = new_request(), []
        request.records.extend(records)
        yield request

    try:
        summary = call(requests())
    except grpc.RpcError as error:
        progress.finish()
        print(f"import failed: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    progress.finish()
    rejections = sorted(local_rejections + [(r.line, r.id, r.field, r.reason) for r in summary.rejections])
    read = summary.received + len(local_rejections)
    verb = "checked" if validate_only else "imported"
    print(f"{verb} {path} into workspaces/{workspace}: {read} lines read, {summary.inserted} {noun} created, "
          f"{summary.updated} updated, {len(rejections)} lines rejected")
    for line, subject, field, reason in rejections:
        where = f" ({subject_label}{subject})" if subject else ""
        print(f"  line {line}{where}: {field + ': ' if field else ''}{reason}")
    return 3 if rejections else 0
