"""The events filter of ListEvents, AggregateEvents and RunFunnel, as an
EventQuery: terms joined by AND, `profile = "..."`, `type = purchase`,
`campaign = "..."`, `channel = CHANNEL_EMAIL`, `message = "..."`,
`variant = b`, `event_time >= "2026-01-01T00:00:00Z"` (also >, <, <=).
Each field at most once (event_time once per direction), compared with `=`;
conditions on properties are not supported by the store's queries yet."""

from __future__ import annotations

from datetime import datetime, timedelta

from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.filtering import Term, parse_filter

from svc_analytics.service_layer.ports import EventQuery
from svc_analytics.service_layer.time_range import EARLIEST, LATEST

_EQUAL_FIELDS = {"profile": "profile", "type": "types", "campaign": "campaign", "channel": "channel",
                 "message": "message", "variant": "variant"}
_TICK = timedelta(microseconds=1)


def _error(message: str, field: str = "filter") -> InvalidArgument:
    return InvalidArgument(FieldViolation(field, message))


def _time(term: Term, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(term.value)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise _error(f"event_time {term.op} {term.value!r}: give an RFC 3339 time with a zone, e.g. "
                     "\"2026-01-01T00:00:00Z\"", field)
    if not EARLIEST <= value <= LATEST:
        raise _error(f"event_time {term.op} {term.value!r}: outside the times events can have (1970-01-01 to "
                     "2105-12-31 UTC)", field)
    return value


def _channel(value: str, field: str) -> Channel:
    try:
        return Channel[value.upper().removeprefix("CHANNEL_")]
    except KeyError:
        raise _error(f"unknown channel {value!r}; one of {Channel.known_names()}", field) from None


_COLLECTIONS = {"profile": "profiles", "campaign": "campaigns", "message": "messages"}


def _bare(workspace: str, key: str, value: str) -> str:
    """A resource name of the workspace (`workspaces/{w}/profiles/{p}`) as the bare id the store keeps."""
    prefix = f"workspaces/{workspace}/{_COLLECTIONS[key]}/" if key in _COLLECTIONS else None
    return value[len(prefix):] if prefix and value.startswith(prefix) else value


def parse_event_filter(workspace: str, text: str, field: str = "filter",
                       allowed: tuple[str, ...] = (*_EQUAL_FIELDS, "event_time")) -> EventQuery:
    """The query `text` asks for in `workspace`; `allowed` narrows the fields (RunFunnel has its own
    interval and steps, so no event_time or type there)."""
    values: dict = {}
    for term in parse_filter(text, comparisons=True):
        name = term.field
        if name not in allowed:
            hint = "; conditions on properties are not supported yet" if name.startswith("properties.") else ""
            raise _error(f"cannot filter on {name!r}; use {', '.join(allowed)}{hint}", field)
        if name == "event_time":
            if term.op in (">=", ">"):
                key, at = "start", _time(term, field) + (_TICK if term.op == ">" else timedelta(0))
            elif term.op in ("<", "<="):
                key, at = "end", _time(term, field) + (_TICK if term.op == "<=" else timedelta(0))
            else:
                raise _error("compare event_time with >=, >, < or <=", field)
            if key in values:
                raise _error("event_time is bounded twice on the same side", field)
            values[key] = at
            continue
        if term.op != "=":
            raise _error(f"compare {name} with =", field)
        key = _EQUAL_FIELDS[name]
        if key in values:
            raise _error(f"{name} is named twice; the terms are joined by AND", field)
        values[key] = (term.value,) if key == "types" else _channel(term.value, field) if key == "channel" \
            else _bare(workspace, key, term.value)
    query = EventQuery(workspace, **values)
    if query.start is not None and query.end is not None and query.end <= query.start:
        raise _error("event_time: the interval is empty", field)
    return query

