"""The campaign repository over SQLAlchemy Core (SQLite or PostgreSQL); its interface
is in svc_campaign.service_layer.unit_of_work. Every method takes the workspace; no
query runs without it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from svc_kit.errors import AlreadyExists
from svc_kit.trace_context import current_trace_headers

from svc_campaign.adapters import codec
from svc_campaign.adapters.tables import campaign_labels, campaigns
from svc_campaign.adapters import event_codec
from svc_campaign.adapters.tables import campaign_events
from svc_campaign.domain.events import CREATED, CampaignEvent
from svc_campaign.domain.model import Campaign, CampaignFields
from svc_campaign.domain.queries import CampaignFilter
from svc_campaign.domain.values import Channel, State
from svc_campaign.service_layer.unit_of_work import CampaignRepository, Cursor, concurrent_change

# Statements on the hot path are built once; SQLAlchemy caches their compiled form.
_c = campaigns.c
_GET = select(campaigns).where(_c.workspace == bindparam("workspace"), _c.id == bindparam("campaign_id"))
_BY_REQUEST = select(campaigns).where(_c.workspace == bindparam("workspace"),
                                      _c.request_id == bindparam("request_id"))
_SAVE = (update(campaigns)
         .where(_c.workspace == bindparam("w_workspace"), _c.id == bindparam("w_id"),
                _c.version == bindparam("w_version")))
_DELETE = delete(campaigns).where(_c.workspace == bindparam("workspace"), _c.id == bindparam("campaign_id"),
                                  _c.version == bindparam("version"))
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}  # both have ON CONFLICT DO NOTHING
_e = campaign_events.c
_HISTORY = (select(campaign_events)
            .where(_e.workspace == bindparam("workspace"), _e.campaign_id == bindparam("campaign_id"),
                   _e.version > bindparam("after_version"), _e.occurred_time <= bindparam("until"))
            .order_by(_e.version).limit(bindparam("limit")))
_HAS_HISTORY = (select(_e.version)
                .where(_e.workspace == bindparam("workspace"), _e.campaign_id == bindparam("campaign_id")).limit(1))
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
_NO_LIMIT = 2**31 - 1
_DELETE_LABELS = delete(campaign_labels).where(campaign_labels.c.workspace == bindparam("workspace"),
                                               campaign_labels.c.campaign_id == bindparam("campaign_id"))


class SqlCampaignRepository(CampaignRepository):
    def __init__(self, connection: Connection):
        super().__init__()
        self.connection = connection
        self._appended: set[str] = set()

    def add(self, campaign: Campaign, request_id: str = "", request_fingerprint: str = "") -> None:
        # A deleted campaign keeps its history and so its id: a second history under it would collide with
        # the first one's versions (and could not be replayed).
        keys = {"workspace": campaign.workspace, "campaign_id": campaign.id}
        if self.connection.execute(_HAS_HISTORY, keys).first() is not None:
            raise AlreadyExists(f"workspaces/{campaign.workspace}/campaigns/{campaign.id} already exists "
                                "(a deleted campaign keeps its id)")
        self.write_projection(campaign, request_id, request_fingerprint)
        self._append(campaign, request_id, request_fingerprint)

    def write_projection(self, campaign: Campaign, request_id: str | None = None,
                         request_fingerprint: str | None = None) -> None:
        """Inserts the campaign's row in the current view (AlreadyExists if taken)."""
        row = self._row(campaign) | {
            "workspace": campaign.workspace,
            "id": campaign.id,
            "create_time": campaign.create_time,
            "request_id": request_id or None,
            "request_fingerprint": request_fingerprint or None,
        }
        # ON CONFLICT rather than IntegrityError in a SAVEPOINT, which SQLite (pysqlite) cannot nest in the
        # unit of work's transaction: a conflict leaves that transaction usable on both backends.
        statement = (_INSERT[self.connection.dialect.name](campaigns).values(row).on_conflict_do_nothing()
                     .returning(_c.id))  # rowcount of an INSERT is not reliable (psycopg gives -1)
        if self.connection.execute(statement).first() is None:
            raise AlreadyExists(f"workspaces/{campaign.workspace}/campaigns/{campaign.id} already exists")
        self._write_labels(campaign)

    def get(self, workspace: str, campaign_id: str) -> Campaign | None:
        row = self.connection.execute(_GET, {"workspace": workspace, "campaign_id": campaign_id}).first()
        return self._campaign(row) if row else None

    def find_by_request_id(self, workspace: str, request_id: str) -> tuple[Campaign, str] | None:
        row = self.connection.execute(_BY_REQUEST, {"workspace": workspace, "request_id": request_id}).first()
        return (self._campaign(row), row.request_fingerprint) if row else None

    def save(self, campaign: Campaign, expected_version: int) -> None:
        result = self.connection.execute(_SAVE, self._row(campaign) | {
            "w_workspace": campaign.workspace, "w_id": campaign.id, "w_version": expected_version})
        if result.rowcount != 1:
            raise concurrent_change(campaign)
        self.connection.execute(_DELETE_LABELS, {"workspace": campaign.workspace, "campaign_id": campaign.id})
        self._write_labels(campaign)
        self._append(campaign)

    def remove(self, campaign: Campaign, expected_version: int) -> None:
        keys = {"workspace": campaign.workspace, "campaign_id": campaign.id}
        # The version check first: a refused remove must have deleted nothing (its labels included).
        if self.connection.execute(_DELETE, keys | {"version": expected_version}).rowcount != 1:
            raise concurrent_change(campaign)
        self.connection.execute(_DELETE_LABELS, keys)
        self._append(campaign)

    def history(self, workspace: str, campaign_id: str, until: datetime | None = None,
                after_version: int = 0, limit: int | None = None) -> list[CampaignEvent]:
        rows = self.connection.execute(_HISTORY, {
            "workspace": workspace, "campaign_id": campaign_id, "after_version": after_version,
            "until": until or _FAR_FUTURE, "limit": _NO_LIMIT if limit is None else limit})
        return [event_codec.event_from_payload(r.event_id, r.event_type, r.workspace, r.campaign_id, r.version,
                                               r.occurred_time, r.payload) for r in rows]

    def _append(self, campaign: Campaign, request_id: str = "", request_fingerprint: str = "") -> None:
        """Appends the campaign's new events to its stream (the unique version
        index refuses a second writer of the same version)."""
        new = [e for e in campaign.events if e.event_id not in self._appended]
        if not new:
            return
        self._appended.update(e.event_id for e in new)
        trace_headers = current_trace_headers()
        try:
            self.connection.execute(insert(campaign_events), [
                {"event_id": e.event_id, "workspace": e.workspace, "campaign_id": e.campaign_id,
                 "version": e.version, "event_type": e.type, "payload": event_codec.payload_record(e),
                 "occurred_time": e.occurred_at, "producer": event_codec.PRODUCER,
                 "traceparent": trace_headers.get("traceparent"),
                 "request_id": (request_id or None) if e.type == CREATED else None,
                 "request_fingerprint": (request_fingerprint or None) if e.type == CREATED else None}
                for e in new
            ])
        except IntegrityError:
            raise concurrent_change(campaign) from None
        self.seen.append(campaign)

    def stored_trace_headers(self, workspace: str, campaign_id: str) -> dict[str, str]:
        """The `traceparent` kept with the campaign's newest event written inside a traced call; empty if none."""
        e = campaign_events.c
        traceparent = self.connection.execute(
            select(e.traceparent).where(e.workspace == workspace, e.campaign_id == campaign_id,
                                        e.traceparent.is_not(None)).order_by(e.version.desc()).limit(1)).scalar()
        return {"traceparent": traceparent} if traceparent else {}

    def list(self, workspace: str, where: CampaignFilter, after: Cursor | None, limit: int) -> list[Campaign]:
        query = select(campaigns).where(*self._conditions(workspace, where))
        if after is not None:
            created, last_id = after
            query = query.where(or_(_c.create_time > created, and_(_c.create_time == created, _c.id > last_id)))
        query = query.order_by(_c.create_time, _c.id).limit(limit)
        return [self._campaign(row) for row in self.connection.execute(query)]

    def claim_due(self, now: datetime, limit: int) -> list[Campaign]:
        query = select(campaigns).where(_c.due_time <= now).order_by(_c.due_time).limit(limit)
        if self.connection.dialect.name == "postgresql":
            # Rows another replica holds are skipped, not waited for; it moves them out of due in its transaction.
            query = query.with_for_update(skip_locked=True)
        return [self._campaign(row) for row in self.connection.execute(query)]

    def next_due_time(self) -> datetime | None:
        return self.connection.execute(select(func.min(_c.due_time))).scalar_one()

    def count(self, workspace: str, where: CampaignFilter) -> int:
        query = select(func.count()).select_from(campaigns).where(*self._conditions(workspace, where))
        return self.connection.execute(query).scalar_one()

    @staticmethod
    def _conditions(workspace: str, where: CampaignFilter) -> list:
        conditions = [_c.workspace == workspace]
        if where.states is not None:
            conditions.append(_c.state.in_([s.value for s in where.states]))
        if where.excluded_states:
            conditions.append(_c.state.not_in([s.value for s in where.excluded_states]))
        labels = campaign_labels.c

        def label(key: str, *extra):
            return exists().where(labels.workspace == _c.workspace, labels.campaign_id == _c.id,
                                  labels.key == key, *extra)

        conditions += [label(k, labels.value == v) for k, v in where.labels_equal]
        conditions += [~label(k, labels.value == v) for k, v in where.labels_not_equal]
        conditions += [label(k) for k in where.labels_present]
        return conditions

    @staticmethod
    def _row(campaign: Campaign) -> dict:
        data = campaign.fields
        return {
            "display_name": data.display_name,
            "description": data.description,
            "state": campaign.state.value,
            "channels": [c.value for c in data.channels],
            "schedule": codec.schedule_to_json(data.schedule),
            "budget": codec.budget_to_json(data.budget),
            "target_segments": list(data.target_segments),
            "contents": codec.contents_to_json(data.contents),
            "labels": dict(data.labels),
            "ab_test": codec.ab_test_to_json(data.ab_test),
            "version": campaign.version,
            "update_time": campaign.update_time,
            "state_time": campaign.state_time,
            "due_time": campaign.due_time,
            "runs": campaign.runs,
            "last_run_time": campaign.last_run_time,
        }

    def _write_labels(self, campaign: Campaign) -> None:
        if campaign.fields.labels:
            self.connection.execute(insert(campaign_labels), [
                {"workspace": campaign.workspace, "campaign_id": campaign.id, "key": k, "value": v}
                for k, v in campaign.fields.labels.items()
            ])

    @staticmethod
    def _campaign(row) -> Campaign:
        return Campaign(
            workspace=row.workspace,
            id=row.id,
            fields=CampaignFields(
                display_name=row.display_name,
                description=row.description,
                channels=tuple(Channel(c) for c in row.channels),
                schedule=codec.schedule_from_json(row.schedule),
                budget=codec.budget_from_json(row.budget),
                target_segments=tuple(row.target_segments),
                contents=codec.contents_from_json(row.contents),
                labels=dict(row.labels),
                ab_test=codec.ab_test_from_json(row.ab_test),
            ),
            state=State(row.state),
            create_time=row.create_time,
            update_time=row.update_time,
            state_time=row.state_time,
            version=row.version,
            runs=row.runs,
            last_run_time=row.last_run_time,
        )
