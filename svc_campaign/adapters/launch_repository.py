"""Launches in the campaign database: one row per run of a campaign (a recurring campaign has one per
occurrence), the targets and the saga's step log as JSON, written with a version check so two workers
never both advance one."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, Engine, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from svc_kit.channels import Channel
from svc_kit.errors import Aborted
from svc_kit.trace_context import current_trace_headers

from svc_campaign.adapters.codec import ab_run_from_json, ab_run_to_json, time_of_day_from_text, time_of_day_to_text
from svc_campaign.adapters.tables import campaign_launches
from svc_campaign.domain.launch import (Launch, LaunchState, MessagesAction, Step, StepOutcome, StepRecord, Target,
                                        TargetState)
from svc_campaign.domain.send_times import SendOptions
from svc_campaign.domain.values import Pacing

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _targets_json(launch: Launch) -> list[dict]:
    return [{**vars(t), "channel": t.channel.value, "state": t.state.value,
             "last_send_time": t.last_send_time.isoformat() if t.last_send_time else None} for t in launch.targets]


def _target(data: dict) -> Target:
    last = data.get("last_send_time")
    return Target(**{**data, "channel": Channel(data["channel"]), "state": TargetState(data["state"]),
                     "last_send_time": datetime.fromisoformat(last) if last else None})


def _options_json(options: SendOptions) -> dict | None:
    if options == SendOptions():
        return None
    return {"send_local_time": time_of_day_to_text(options.send_local_time),
            "max_sends_per_hour": options.max_sends_per_hour, "pacing": options.pacing.value,
            "time_zone": options.time_zone}


def _options(data: dict | None) -> SendOptions:
    if not data:
        return SendOptions()
    return SendOptions(time_of_day_from_text(data.get("send_local_time")), data.get("max_sends_per_hour", 0),
                       Pacing(data.get("pacing", Pacing.NONE.value)), data.get("time_zone", ""))


def _steps_json(launch: Launch) -> list[dict]:
    return [{"step": r.step.value, "target": r.target, "outcome": r.outcome.value, "time": r.time.isoformat(),
             "detail": r.detail} for r in launch.steps]


def _steps(rows: list[dict] | None) -> list[StepRecord]:
    return [StepRecord(Step(r["step"]), r["target"], StepOutcome(r["outcome"]), datetime.fromisoformat(r["time"]),
                       r["detail"]) for r in rows or ()]


def _from_row(row) -> Launch:
    targets = [_target(t) for t in row.targets]
    return Launch(row.workspace, row.campaign_id, targets, LaunchState(row.state), row.attempts, row.last_error,
                  row.next_attempt_time, row.version, row.update_time, row.start_time, row.end_time,
                  MessagesAction(row.pending_action) if row.pending_action else None, row.cancelled_messages,
                  row.handed_over_messages, row.messages_held, _steps(row.steps), row.tracking_initialised,
                  Step(row.failed_step) if row.failed_step else None, row.failure_reason,
                  [Step(c) for c in row.compensations or ()], _options(row.send_options), ab_run_from_json(row.ab_test),
                  run=row.run, occurrence_time=row.occurrence_time)


def _values(launch: Launch) -> dict:
    return {"state": launch.state.value, "targets": _targets_json(launch), "attempts": launch.attempts,
            "last_error": launch.last_error, "next_attempt_time": launch.next_attempt_time,
            "update_time": launch.update_time, "end_time": launch.end_time,
            "pending_action": launch.pending_action.value if launch.pending_action else None,
            "cancelled_messages": launch.cancelled_messages, "handed_over_messages": launch.handed_over_messages,
            "messages_held": launch.messages_held, "steps": _steps_json(launch),
            "tracking_initialised": launch.tracking_initialised,
            "failed_step": launch.failed_step.value if launch.failed_step else None,
            "failure_reason": launch.failure_reason, "compensations": [c.value for c in launch.compensations],
            "send_options": _options_json(launch.send_options),
            "ab_test": ab_run_to_json(launch.ab)}


class SqlLaunchRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def get(self, workspace: str, campaign_id: str, run: int | None = None) -> Launch | None:
        """The launch of `run`, or of the newest run."""
        c = campaign_launches.c
        query = select(campaign_launches).where(c.workspace == workspace, c.campaign_id == campaign_id)
        query = query.where(c.run == run) if run is not None else query.order_by(c.run.desc()).limit(1)
        row = self.connection.execute(query).first()
        return _from_row(row) if row else None

    def list(self, workspace: str, campaign_id: str, before_run: int | None, limit: int) -> list[Launch]:
        """The campaign's launches, newest run first, those of runs before `before_run` (all when None)."""
        c = campaign_launches.c
        query = select(campaign_launches).where(c.workspace == workspace, c.campaign_id == campaign_id)
        if before_run is not None:
            query = query.where(c.run < before_run)
        return [_from_row(r) for r in self.connection.execute(query.order_by(c.run.desc()).limit(limit))]

    def live(self, workspace: str, campaign_id: str) -> list[Launch]:
        """The campaign's launches still sending, undoing or with a call to notify pending, newest first."""
        c = campaign_launches.c
        rows = self.connection.execute(select(campaign_launches).where(
            c.workspace == workspace, c.campaign_id == campaign_id,
            or_(c.state.in_((LaunchState.RUNNING.value, LaunchState.PAUSED.value, LaunchState.COMPENSATING.value)),
                c.pending_action.is_not(None))).order_by(c.run.desc()))
        return [_from_row(r) for r in rows]

    def handed_over(self, workspace: str, campaign_id: str) -> int:
        """Messages every run of the campaign handed to notify (sent plus duplicates)."""
        c = campaign_launches.c
        rows = self.connection.execute(select(c.targets).where(c.workspace == workspace, c.campaign_id == campaign_id))
        return sum(t["sent"] + t["duplicates"] for (targets,) in rows for t in targets)

    def count(self, workspace: str, campaign_id: str) -> int:
        c = campaign_launches.c
        return self.connection.execute(select(func.count()).where(
            c.workspace == workspace, c.campaign_id == campaign_id)).scalar_one()

    def add(self, launch: Launch) -> bool:
        """False when the campaign has a launch for this run already (a start seen twice)."""
        statement = _INSERT[self.connection.dialect.name](campaign_launches).values(
            workspace=launch.workspace, campaign_id=launch.campaign_id, run=launch.run,
            occurrence_time=launch.occurrence_time, version=1, start_time=launch.start_time,
            traceparent=(trace := current_trace_headers()).get("traceparent"), tracestate=trace.get("tracestate"),
            **_values(launch)).on_conflict_do_nothing().returning(campaign_launches.c.run)
        return self.connection.execute(statement).first() is not None  # an INSERT's rowcount is not reliable

    def save(self, launch: Launch) -> Launch:
        """Writes a changed launch read at `launch.version`; Aborted if it moved meanwhile."""
        c = campaign_launches.c
        done = self.connection.execute(update(campaign_launches).where(
            c.workspace == launch.workspace, c.campaign_id == launch.campaign_id, c.run == launch.run,
            c.version == launch.version
        ).values(version=launch.version + 1, **_values(launch)))
        if done.rowcount != 1:
            raise Aborted(f"launch of {launch.name} (run {launch.run}) changed meanwhile")
        return replace(launch, version=launch.version + 1)

    def due(self, now: datetime, limit: int) -> list[Launch]:
        c = campaign_launches.c
        rows = self.connection.execute(select(campaign_launches).where(
            or_(c.state.in_((LaunchState.RUNNING.value, LaunchState.COMPENSATING.value)),
                c.pending_action.is_not(None)), c.next_attempt_time <= now
        ).order_by(c.next_attempt_time).limit(limit))
        return [_from_row(r) for r in rows]


class SqlLaunchStore:
    """The launch runner's svc_campaign.service_layer.ports.LaunchStore. Each call in its own short transaction (the runner talks to other
    services between them and holds no transaction open meanwhile)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, workspace: str, campaign_id: str, run: int | None = None) -> Launch | None:
        with self.engine.connect() as connection:
            return SqlLaunchRepository(connection).get(workspace, campaign_id, run)

    def due(self, now: datetime, limit: int = 10) -> list[Launch]:
        with self.engine.connect() as connection:
            return SqlLaunchRepository(connection).due(now, limit)

    def save(self, launch: Launch) -> Launch:
        with self.engine.begin() as connection:
            return SqlLaunchRepository(connection).save(launch)

    def trace_headers(self, launch: Launch) -> dict[str, str]:
        """`traceparent` (and `tracestate`) of the call the launch was planned in; empty when none was kept."""
        c = campaign_launches.c
        with self.engine.connect() as connection:
            row = connection.execute(select(c.traceparent, c.tracestate).where(
                c.workspace == launch.workspace, c.campaign_id == launch.campaign_id, c.run == launch.run)).first()
        if row is None:
            return {}
        return {k: v for k, v in (("traceparent", row.traceparent), ("tracestate", row.tracestate)) if v}
