"""Funnel use cases: create (once per request id), get, list, update (update
mask and etag), delete, and run over an interval against the event store."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from svc_kit import pagination
from svc_kit.errors import FieldViolation, InvalidArgument, NotFound
from svc_kit.idempotency import create_once, fingerprint
from svc_kit.ids import new_id
from svc_kit.names import format_name

from svc_analytics.domain.funnel import Funnel, FunnelFields, FunnelFilter, StepResult, check_paths, \
    step_results
from svc_analytics.service_layer.event_filter import parse_event_filter
from svc_analytics.service_layer.ports import EventStore
from svc_analytics.service_layer.unit_of_work import UnitOfWork
from svc_analytics.service_layer.time_range import check_bounds

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def new_funnel_id() -> str:
    """Generated ids start with a letter, as funnel_id's rule in analytics_service.proto wants."""
    return f"funnel-{new_id()}"


def _name(workspace: str, funnel_id: str) -> str:
    return format_name(workspace, "funnels", funnel_id)


def _load(uow: UnitOfWork, workspace: str, funnel_id: str) -> Funnel:
    funnel = uow.funnels.get(workspace, funnel_id)
    if funnel is None:
        raise NotFound(_name(workspace, funnel_id))
    return funnel


def _fingerprint(funnel_id: str, fields: FunnelFields) -> str:
    as_dict = dataclasses.asdict(fields)
    as_dict["conversion_window"] = fields.conversion_window.total_seconds() if fields.conversion_window else None
    return fingerprint(funnel_id, as_dict)


def create_funnel(workspace: str, fields: FunnelFields, uow: UnitOfWork, clock: Clock, *, funnel_id: str = "",
                  request_id: str = "", validate_only: bool = False,
                  new_id_: IdFactory = new_funnel_id) -> Funnel:
    # funnel_id's format: a rule of analytics_service.proto (svc_kit.validation).
    return create_once(
        uow, request_id, _fingerprint(funnel_id, fields),
        find=lambda: uow.funnels.find_by_request_id(workspace, request_id),
        build=lambda: Funnel.create(workspace, funnel_id or new_id_(), fields, clock()),
        name=lambda funnel: _name(funnel.workspace, funnel.id),
        exists=lambda funnel: uow.funnels.get(workspace, funnel.id) is not None,
        add=lambda funnel, rid, fp: uow.funnels.add(funnel, rid, fp),
        validate_only=validate_only)


def get_funnel(workspace: str, funnel_id: str, uow: UnitOfWork) -> Funnel:
    with uow:
        return _load(uow, workspace, funnel_id)


@dataclass(frozen=True)
class FunnelPage:
    funnels: list[Funnel]
    next_page_token: str


def list_funnels(workspace: str, uow: UnitOfWork, *, page_size: int = 0, page_token: str = "",
                 filter_: str = "") -> FunnelPage:
    """Oldest first, keyset-paged by (create_time, id)."""
    where = FunnelFilter.parse(filter_)
    with uow:
        page, token = pagination.timed_keyset_page(
            lambda after, limit: uow.funnels.list(workspace, where, after, limit),
            lambda f: (f.create_time, f.id), page_size, page_token,
            pagination.fingerprint(workspace, "funnels", where.key()))
    return FunnelPage(page, token)


def update_funnel(workspace: str, funnel_id: str, fields: FunnelFields, paths: set[str], uow: UnitOfWork,
                  clock: Clock, etag: str = "") -> Funnel:
    paths = check_paths(paths)
    with uow:
        funnel = _load(uow, workspace, funnel_id)
        funnel.check_etag(etag)
        expected = funnel.version
        if funnel.update(fields, paths, clock()):
            uow.funnels.save(funnel, expected)
            uow.commit()
        return funnel


def delete_funnel(workspace: str, funnel_id: str, uow: UnitOfWork, etag: str = "") -> None:
    with uow:
        funnel = _load(uow, workspace, funnel_id)
        funnel.check_etag(etag)
        uow.funnels.remove(funnel, funnel.version)
        uow.commit()


@dataclass(frozen=True)
class FunnelRun:
    funnel: Funnel
    steps: list[StepResult]
    start: datetime
    end: datetime
    data_time: datetime  # events received up to this time are included


def run_funnel(workspace: str, funnel_id: str, start: datetime, end: datetime, uow: UnitOfWork,
               store: EventStore, clock: Clock, filter_: str = "") -> FunnelRun:
    """Profiles whose first step falls in [start, end), and how far they went in order within the
    funnel's conversion window; `filter_` narrows every step's events (campaign, channel, ...)."""
    if start is None or end is None or end <= start:
        raise InvalidArgument(FieldViolation("interval", "required: a start_time before the end_time"))
    check_bounds(start, end)
    where = parse_event_filter(workspace, filter_, allowed=("profile", "campaign", "channel", "message",
                                                             "variant"))
    funnel = get_funnel(workspace, funnel_id, uow)
    data_time = clock()
    query = dataclasses.replace(where, start=start, end=end)
    reached = store.funnel(query, [s.event_type for s in funnel.fields.steps], funnel.conversion_window)
    return FunnelRun(funnel, step_results(funnel.fields.steps, reached), start, end, data_time)
