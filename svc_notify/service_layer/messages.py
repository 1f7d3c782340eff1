"""Use cases of messages: accept (one or a batch, deduplicated by idempotency
key), read, list, cancel, and their delivery attempts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from svc_kit import pagination
from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation, InvalidArgument, NotFound, ServiceError
from svc_kit.filtering import parse_filter

from svc_notify.domain import events
from svc_notify.domain.model import Delivery, DeliveryState, Message, State
from svc_notify.domain.validation import message_violations, profile_id
from svc_notify.service_layer import campaign_messages
from svc_notify.service_layer.ports import Clock
from svc_notify.service_layer.repositories import DeliveryFilter, MessageFilter
from svc_notify.service_layer.unit_of_work import UnitOfWork

IdFactory = Callable[[], str]
MAX_BATCH = 1000


@dataclass(frozen=True)
class Accepted:
    message: Message
    duplicate: bool


def _name(workspace: str, message_id: str) -> str:
    return f"workspaces/{workspace}/messages/{message_id}"


def _validated(draft: Message, prefix: str) -> Message:
    problems = message_violations(draft, prefix)
    if problems:
        raise InvalidArgument(problems)
    return draft


def send_messages(drafts: list[Message | ServiceError], validate_only: list[bool], uow: UnitOfWork, clock: Clock,
                  new_id: IdFactory, prefix: Callable[[int], str] = lambda i: f"requests[{i}].message.") \
        -> list[Accepted | ServiceError]:
    """Accepts each valid draft unless its idempotency key was used before (then
    the earlier message is the answer, with duplicate=True). A refused draft
    (a ServiceError in, or one raised by validation) does not refuse the others.
    Drafts carry their workspace, channel, recipient, key, source and options;
    ids, times and state are set here."""
    if len(drafts) > MAX_BATCH:
        raise InvalidArgument(FieldViolation("requests", f"at most {MAX_BATCH:,} messages per batch"))
    now = clock()
    results: list[Accepted | ServiceError | None] = [None] * len(drafts)
    fresh: dict[int, Message] = {}
    for i, draft in enumerate(drafts):
        if isinstance(draft, ServiceError):
            results[i] = draft
            continue
        try:
            checked = _validated(draft, prefix(i))
        except InvalidArgument as error:
            results[i] = error
            continue
        fresh[i] = Message.accept(checked.workspace, new_id(), checked.channel, checked.recipient,
                                  checked.idempotency_key, now, category=checked.category, campaign=checked.campaign,
                                  template=checked.template, content=checked.content, send_time=checked.send_time,
                                  labels=dict(checked.labels))
    by_workspace: dict[str, list[int]] = {}
    for i, message in fresh.items():
        by_workspace.setdefault(message.workspace, []).append(i)
    with uow:
        for workspace, indexes in by_workspace.items():
            _store(workspace, indexes, fresh, validate_only, results, uow, prefix)
        if any(isinstance(r, Accepted) and not r.duplicate and not validate_only[i] for i, r in enumerate(results)):
            uow.queued = True
        uow.commit()
    return results  # type: ignore[return-value]


def _store(workspace: str, indexes: list[int], fresh: dict[int, Message], validate_only: list[bool],
           results: list, uow: UnitOfWork, prefix: Callable[[int], str]) -> None:
    """Stores the drafts of one workspace whose keys are free; the others get
    the message that holds their key (stored earlier, concurrently, or earlier in the batch)."""
    keys = {fresh[i].idempotency_key for i in indexes}
    existing = uow.messages.by_keys(workspace, keys)
    first_of_key: dict[str, int] = {}
    for i in indexes:
        key = fresh[i].idempotency_key
        if key not in existing and key not in first_of_key:
            first_of_key[key] = i
    # A page of a launch that arrives after its campaign was cancelled (CancelCampaignMessages) is cancelled.
    stopped = {c for c in {fresh[i].campaign for i in first_of_key.values()}
               if c and uow.messages.campaign_hold(workspace, c) == campaign_messages.CANCELLED}
    for i in first_of_key.values():
        if fresh[i].campaign in stopped:
            fresh[i].cancel(fresh[i].create_time)
            fresh[i].state_reason = f"cancelled with {fresh[i].campaign}"
    stored = uow.messages.add([fresh[i] for i in first_of_key.values() if not validate_only[i]])
    won = {key for key, i in first_of_key.items() if validate_only[i] or fresh[i].id in stored}
    added = [fresh[i] for i in first_of_key.values() if not validate_only[i] and fresh[i].id in stored]
    uow.record(*(events.event(events.QUEUED, m, m.create_time) for m in added))
    uow.record(*(events.event(events.CANCELLED, m, m.create_time, reason=m.state_reason) for m in added
                 if m.state is State.CANCELLED))
    if missing := keys - existing.keys() - won:  # a concurrent request with the key committed first
        existing.update(uow.messages.by_keys(workspace, missing))
    for i in indexes:
        key = fresh[i].idempotency_key
        first = first_of_key.get(key)
        if first == i and key in won:
            results[i] = Accepted(fresh[i], False)
        elif key in existing:
            results[i] = Accepted(existing[key], True)
        elif first is not None and key in won:
            results[i] = Accepted(fresh[first], True)
        else:
            results[i] = InvalidArgument(FieldViolation(prefix(i) + "idempotency_key",
                                                        "was being used by a concurrent request; send again"))


def get_message(workspace: str, message_id: str, uow: UnitOfWork) -> Message:
    with uow:
        message = uow.messages.get(workspace, message_id)
    if message is None:
        raise NotFound(_name(workspace, message_id))
    return message


def cancel_message(workspace: str, message_id: str, etag: str, uow: UnitOfWork, clock: Clock) -> Message:
    with uow:
        message = uow.messages.get(workspace, message_id)
        if message is None:
            raise NotFound(_name(workspace, message_id))
        message.check_etag(etag)
        expected = message.version
        message.cancel(clock())
        uow.messages.save(message, expected)
        uow.commit()
    return message


# -- lists ---------------------------------------------------------------------------------------------


def _enum_value(term, prefix: str, allowed: list[str]) -> str:
    if not term.value.startswith(prefix) or term.value[len(prefix):] not in allowed:
        raise InvalidArgument(FieldViolation("filter", f"{term.field} is one of "
                                                       f"{', '.join(prefix + a for a in allowed)}"))
    return term.value[len(prefix):]


def _instant(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidArgument(FieldViolation("filter", f"{value!r} is not an RFC 3339 time such as "
                                                       "2026-03-01T00:00:00Z"))
    return parsed


def parse_message_filter(text: str, workspace: str) -> MessageFilter:
    states: set[State] | None = None
    excluded: set[State] = set()
    fields: dict = {}
    times: list = []
    for term in parse_filter(text, comparisons=True):
        if term.field == "state" and term.op in ("=", "!="):
            state = State(_enum_value(term, "STATE_", [s.value for s in State]))
            if term.op == "=":
                states = (states or {state}) & {state}
            else:
                excluded.add(state)
        elif term.field == "channel" and term.op == "=":
            fields["channel"] = Channel(_enum_value(term, "CHANNEL_", [c.value for c in Channel]))
        elif term.field == "campaign" and term.op == "=":
            fields["campaign"] = term.value
        elif term.field == "recipient" and term.op == "=":
            fields["recipient"] = profile_id(term.value, workspace) or term.value
        elif term.field == "idempotency_key" and term.op == "=":
            fields["idempotency_key"] = term.value
        elif term.field == "create_time" and term.op not in ("has",):
            times.append((term.op, _instant(term.value)))
        else:
            raise InvalidArgument(FieldViolation(
                "filter", f"unsupported term `{term.field} {term.op}`; use state, channel, campaign, recipient, "
                          "idempotency_key (=) and create_time (<, <=, >, >=)"))
    return MessageFilter(frozenset(states) if states is not None else None, frozenset(excluded),
                         create_time=tuple(times), **fields)


def _page(rows: list, size: int, key: Callable, query_key: str) -> tuple[list, str]:
    page = rows[:size]
    return page, pagination.encode_token([key(page[-1])], query_key) if len(rows) > size else ""


def _position(token: str, query_key: str) -> str | None:
    position = pagination.decode_token(token, query_key)
    if position is None:
        return None
    if len(position) != 1 or not isinstance(position[0], str):
        raise InvalidArgument(FieldViolation("page_token", "not a token this service issued"))
    return position[0]


def list_messages(workspace: str, filter_text: str, page_size: int, page_token: str,
                  uow: UnitOfWork) -> tuple[list[Message], str]:
    size = pagination.page_size(page_size)
    where = parse_message_filter(filter_text, workspace)
    query_key = pagination.fingerprint(workspace, "messages", filter_text)
    before = _position(page_token, query_key)
    with uow:
        rows = uow.messages.list(workspace, where, before, size + 1)
    return _page(rows, size, lambda m: m.id, query_key)


def parse_delivery_filter(text: str) -> DeliveryFilter:
    states: set[DeliveryState] | None = None
    provider = None
    times = []
    for term in parse_filter(text, comparisons=True):
        if term.field == "state" and term.op == "=":
            state = DeliveryState(_enum_value(term, "STATE_", [s.value for s in DeliveryState]))
            states = (states or {state}) & {state}
        elif term.field == "provider" and term.op == "=":
            provider = term.value.rsplit("/", 1)[-1]
        elif term.field == "start_time" and term.op != "has":
            times.append((term.op, _instant(term.value)))
        else:
            raise InvalidArgument(FieldViolation("filter", f"unsupported term `{term.field} {term.op}`; use "
                                                           "state, provider (=) and start_time (<, <=, >, >=)"))
    return DeliveryFilter(frozenset(states) if states is not None else None, provider, tuple(times))


def list_deliveries(workspace: str, message_id: str | None, filter_text: str, page_size: int, page_token: str,
                    uow: UnitOfWork) -> tuple[list[Delivery], str]:
    size = pagination.page_size(page_size)
    where = parse_delivery_filter(filter_text)
    query_key = pagination.fingerprint(workspace, message_id, "deliveries", filter_text)
    before = _position(page_token, query_key)
    with uow:
        if message_id is not None and uow.messages.get(workspace, message_id) is None:
            raise NotFound(_name(workspace, message_id))
        rows = uow.deliveries.list(workspace, message_id, where, before, size + 1)
    return _page(rows, size, lambda d: d.id, query_key)
