"""The journeys' SQL store (JourneyStore over one connection, in the caller's
transaction): journeys, frozen versions, entries with their durable timers and
the trail. Every query is scoped by workspace, except the timer claim, which
serves every workspace (each claimed row carries its own)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from svc_kit.clock import utcnow
from svc_kit.errors import AlreadyExists, Aborted

from svc_campaign.adapters.tables import (journey_date_seeds, journey_date_timers, journey_entries,
                                          journey_profiles, journey_trail, journey_versions, journeys,
                                          segment_cache_members)
from svc_campaign.domain.journey import (ACTIVE, ARCHIVED, EXITED, GOAL, INSIDE, Definition, Entry, Journey,
                                         PastEntry, TrailItem)
from svc_campaign.service_layer.journey_ports import DateTimer
from svc_campaign.service_layer.journey_ports import ExplainedEntry, Figures, StepFigures, Trail

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_j, _v, _e, _t = journeys.c, journey_versions.c, journey_entries.c, journey_trail.c
_d, _s = journey_date_timers.c, journey_date_seeds.c


# The runtime's per-event reads, built once (building a statement costs more than running it on SQLite).
_LIVE = (select(_v.journey_id, _v.version, _v.definition).join(journeys, and_(
    _j.workspace == _v.workspace, _j.id == _v.journey_id, _j.published_version == _v.version))
    .where(_v.workspace == bindparam("w"), _v.trigger_kind == bindparam("kind"), _v.trigger_key == bindparam("key"),
           _j.state == ACTIVE))
_ACTIVE = (select(journey_entries, _v.definition).join(journey_versions, and_(
    _v.workspace == _e.workspace, _v.journey_id == _e.journey_id, _v.version == _e.version))
    .where(_e.workspace == bindparam("w"), _e.profile == bindparam("p"), _e.state == INSIDE))
_HAS_ENTRY = select(_e.id).where(_e.workspace == bindparam("w"), _e.journey_id == bindparam("j"),
                                 _e.version == bindparam("v"), _e.profile == bindparam("p"),
                                 _e.trigger_event == bindparam("t"))
_SAVE = update(journey_entries).where(
    _e.id == bindparam("b_id"), _e.workspace == bindparam("b_w"), _e.revision == bindparam("b_rev")).values(
    {c: bindparam(c) for c in ("state", "step", "waiting", "due_time", "seen", "revision", "update_time")})
_LOCK = select(journey_profiles.c.profile).where(
    journey_profiles.c.workspace == bindparam("w"), journey_profiles.c.journey_id == bindparam("j"),
    journey_profiles.c.profile == bindparam("p")).with_for_update()
_PAST = select(_e.enter_time, _e.state).where(_e.workspace == bindparam("w"), _e.journey_id == bindparam("j"),
                                              _e.profile == bindparam("p"))


def trigger_key(definition: Definition) -> tuple[str, str]:
    t = definition.trigger
    return t.kind, t.event if t.kind == "event" else t.segment if t.kind.startswith("segment") else t.attribute


# The trail kinds a step's figures count: `sent` (a send handed to notify, a segment change or a webhook event
# asked for) and `skipped` (what notify skipped or refused, a refused segment change, a skipped webhook).
REQUESTED = ("send_requested", "segment_add", "segment_remove", "webhook_queued")
SKIPPED = ("send_skipped", "send_failed", "segment_failed", "webhook_skipped")

class SqlJourneyStore:
    def __init__(self, connection: Connection):
        self.connection = connection

    # ---- journeys
    def add_journey(self, j: Journey) -> None:
        row = {"workspace": j.workspace, "id": j.id, "display_name": j.display_name, "state": j.state,
               "draft": j.draft.to_dict(), "published_version": j.published_version, "revision": j.revision,
               "create_time": j.create_time, "update_time": j.update_time}
        done = self.connection.execute(_INSERT[self.connection.dialect.name](journeys).values(row)
                                       .on_conflict_do_nothing().returning(_j.id)).first()
        if done is None:
            raise AlreadyExists(f"{j.name} already exists")

    @staticmethod
    def _journey(row) -> Journey:
        return Journey(row.workspace, row.id, row.display_name, row.state, Definition.from_dict(row.draft),
                       row.published_version, row.revision, row.create_time, row.update_time)

    def get_journey(self, workspace: str, journey_id: str) -> Journey | None:
        row = self.connection.execute(select(journeys).where(_j.workspace == workspace, _j.id == journey_id)).first()
        return self._journey(row) if row else None

    def list_journeys(self, workspace: str, after: tuple[datetime, str] | None, limit: int) -> list[Journey]:
        query = select(journeys).where(_j.workspace == workspace)
        if after is not None:
            query = query.where(or_(_j.create_time > after[0], and_(_j.create_time == after[0], _j.id > after[1])))
        rows = self.connection.execute(query.order_by(_j.create_time, _j.id).limit(limit))
        return [self._journey(r) for r in rows]

    def save_journey(self, j: Journey, expected_revision: int) -> None:
        done = self.connection.execute(update(journeys).where(
            _j.workspace == j.workspace, _j.id == j.id, _j.revision == expected_revision).values(
            display_name=j.display_name, state=j.state, draft=j.draft.to_dict(),
            published_version=j.published_version, revision=j.revision, update_time=j.update_time))
        if done.rowcount != 1:
            raise Aborted(f"{j.name} changed meanwhile; read it again")

    def delete_journey(self, workspace: str, journey_id: str) -> None:
        for table, column in ((journey_trail, _t.journey_id), (journey_entries, _e.journey_id),
                              (journey_versions, _v.journey_id), (journey_profiles, journey_profiles.c.journey_id),
                              (journey_date_timers, _d.journey_id), (journey_date_seeds, _s.journey_id)):
            self.connection.execute(delete(table).where(table.c.workspace == workspace, column == journey_id))
        self.connection.execute(delete(journeys).where(_j.workspace == workspace, _j.id == journey_id))

    def add_version(self, j: Journey, version: int, definition: Definition, now: datetime) -> None:
        kind, key = trigger_key(definition)
        self.connection.execute(journey_versions.insert().values(
            workspace=j.workspace, journey_id=j.id, version=version, definition=definition.to_dict(),
            trigger_kind=kind, trigger_key=key, publish_time=now))

    def has_active_entries(self, workspace: str, journey_id: str) -> bool:
        return self.connection.execute(select(_e.id).where(
            _e.workspace == workspace, _e.journey_id == journey_id, _e.state == INSIDE).limit(1)).first() is not None

    # ---- runtime
    def live_versions(self, workspace: str, trigger_kind: str, trigger_key: str) -> list[tuple[str, int, Definition]]:
        """The newest version of each ACTIVE journey of the workspace with this trigger."""
        rows = self.connection.execute(_LIVE, {"w": workspace, "kind": trigger_kind, "key": trigger_key})
        return [(r.journey_id, r.version, Definition.from_dict(r.definition)) for r in rows]

    @staticmethod
    def _entry(r) -> Entry:
        return Entry(r.id, r.workspace, r.journey_id, r.version, r.profile, r.state, r.step, r.waiting, r.due_time,
                     tuple(r.seen), r.enter_time, r.revision)

    def active_entries(self, workspace: str, profile: str) -> list[tuple[Entry, Definition]]:
        rows = self.connection.execute(_ACTIVE, {"w": workspace, "p": profile}).all()
        return [(self._entry(r), Definition.from_dict(r.definition)) for r in rows]

    def lock_profile(self, workspace: str, journey_id: str, profile: str) -> None:
        """Holds the (journey, profile) admission row until the transaction ends (PostgreSQL: FOR UPDATE; SQLite
        writes serialise the whole database anyway)."""
        key = {"workspace": workspace, "journey_id": journey_id, "profile": profile}
        self.connection.execute(_INSERT[self.connection.dialect.name](journey_profiles).values(key)
                                .on_conflict_do_nothing())
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(_LOCK, {"w": workspace, "j": journey_id, "p": profile})

    def past_entries(self, workspace: str, journey_id: str, profile: str) -> list[PastEntry]:
        rows = self.connection.execute(_PAST, {"w": workspace, "j": journey_id, "p": profile})
        return [PastEntry(r.enter_time, r.state) for r in rows]

    def has_entry(self, workspace: str, journey_id: str, version: int, profile: str, trigger_event: str) -> bool:
        return self.connection.execute(_HAS_ENTRY, {"w": workspace, "j": journey_id, "v": version, "p": profile,
                                                    "t": trigger_event}).first() is not None

    def _entry_row(self, e: Entry) -> dict:
        return {"state": e.state, "step": e.step, "waiting": e.waiting, "due_time": e.due_time, "seen": list(e.seen),
                "revision": e.revision}

    def add_entry(self, e: Entry, trigger_event: str) -> bool:
        row = {"id": e.id, "workspace": e.workspace, "journey_id": e.journey_id, "version": e.version,
               "profile": e.profile, "trigger_event": trigger_event, "enter_time": e.enter_time,
               "update_time": e.enter_time, **self._entry_row(e)}
        done = self.connection.execute(_INSERT[self.connection.dialect.name](journey_entries).values(row)
                                       .on_conflict_do_nothing().returning(_e.id)).first()
        return done is not None

    def save_entry(self, e: Entry, expected_revision: int) -> bool:
        """Writes the entry's new position (revision + 1) if nobody moved it since; False if someone did."""
        e.revision = expected_revision + 1
        done = self.connection.execute(_SAVE, {"b_id": e.id, "b_w": e.workspace, "b_rev": expected_revision,
                                               "update_time": utcnow(), **self._entry_row(e)})
        return done.rowcount == 1

    def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[tuple[Entry, Definition]]:
        """Due entries of journeys that run timers (ACTIVE, ARCHIVED: draining; not PAUSED), their timer moved
        to `lease_until` (so a crash before the pass commits makes them due again then). On PostgreSQL rows
        another replica claims are skipped (FOR UPDATE SKIP LOCKED); SQLite has one campaign process."""
        query = (select(journey_entries).join(journeys, and_(_j.workspace == _e.workspace, _j.id == _e.journey_id))
                 .where(_e.due_time <= now, _e.state == INSIDE, _j.state.in_((ACTIVE, ARCHIVED)))
                 .order_by(_e.due_time).limit(limit))
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update(of=journey_entries, skip_locked=True)
        claimed = [self._entry(r) for r in self.connection.execute(query)]
        if not claimed:
            return []
        self.connection.execute(update(journey_entries).where(_e.id.in_([e.id for e in claimed])).values(
            due_time=lease_until, revision=_e.revision + 1))
        for e in claimed:
            e.revision += 1
        definitions = self._definitions({(e.workspace, e.journey_id, e.version) for e in claimed})
        return [(e, definitions[(e.workspace, e.journey_id, e.version)]) for e in claimed]

    def _definitions(self, keys: set[tuple[str, str, int]]) -> dict[tuple[str, str, int], Definition]:
        found = {}
        by_workspace: dict[str, set[str]] = defaultdict(set)
        for w, j, _ in keys:
            by_workspace[w].add(j)
        for w, ids in by_workspace.items():
            for r in self.connection.execute(select(_v.journey_id, _v.version, _v.definition).where(
                    _v.workspace == w, _v.journey_id.in_(ids))):
                if (w, r.journey_id, r.version) in keys:
                    found[(w, r.journey_id, r.version)] = Definition.from_dict(r.definition)
        return found

    def memberships(self, workspace: str, profiles: list[str]) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        m = segment_cache_members.c
        for start in range(0, len(profiles), 500):
            for r in self.connection.execute(select(m.profile_id, m.segment_id).where(
                    m.workspace == workspace, m.profile_id.in_(profiles[start:start + 500]))):
                found[r.profile_id].add(r.segment_id)
        return {p: frozenset(found.get(p, ())) for p in profiles}

    def next_due_time(self) -> datetime | None:
        return self.connection.execute(select(func.min(_e.due_time)).where(_e.state == INSIDE)).scalar_one()

    # ---- date attribute triggers: one timer per journey and profile
    def date_journeys_to_seed(self, refreshed_before: datetime) -> list[tuple[str, str, int, Definition]]:
        """ACTIVE date-triggered journeys whose timers were never set for their live version, or last refreshed
        before `refreshed_before`."""
        rows = self.connection.execute(
            select(_j.workspace, _j.id, _v.version, _v.definition)
            .join(journey_versions, and_(_v.workspace == _j.workspace, _v.journey_id == _j.id,
                                         _v.version == _j.published_version))
            .outerjoin(journey_date_seeds, and_(_s.workspace == _j.workspace, _s.journey_id == _j.id))
            .where(_j.state == ACTIVE, _v.trigger_kind == "date_attribute",
                   or_(_s.version.is_(None), _s.version != _j.published_version, _s.seed_time < refreshed_before))
            .order_by(_j.workspace, _j.id))
        return [(r.workspace, r.id, r.version, Definition.from_dict(r.definition)) for r in rows]

    def date_timers(self, workspace: str, journey_id: str, profiles: list[str]) -> dict[str, datetime | None]:
        """Profile -> the occurrence it last fired (None: none yet), for the profiles that have a timer."""
        found: dict[str, datetime | None] = {}
        for start in range(0, len(profiles), 500):
            found.update(self.connection.execute(select(_d.profile, _d.handled_until).where(
                _d.workspace == workspace, _d.journey_id == journey_id,
                _d.profile.in_(profiles[start:start + 500]))).all())
        return found

    def put_date_timers(self, workspace: str, journey_id: str, timers: list[DateTimer], seed_round: str) -> None:
        if not timers:
            return
        insert = _INSERT[self.connection.dialect.name](journey_date_timers)
        statement = insert.on_conflict_do_update(
            index_elements=["workspace", "journey_id", "profile"],
            set_={"due_time": insert.excluded.due_time, "handled_until": insert.excluded.handled_until,
                  "seed_round": insert.excluded.seed_round})
        self.connection.execute(statement, [
            {"workspace": workspace, "journey_id": journey_id, "profile": t.profile, "due_time": t.due_time,
             "handled_until": t.handled_until, "seed_round": seed_round} for t in timers])

    def end_date_seed(self, workspace: str, journey_id: str, version: int, seed_round: str, now: datetime) -> None:
        """Drops the timers this refresh did not see (no date any more, or erased) and notes the refresh."""
        self.connection.execute(delete(journey_date_timers).where(
            _d.workspace == workspace, _d.journey_id == journey_id, _d.seed_round != seed_round))
        insert = _INSERT[self.connection.dialect.name](journey_date_seeds)
        self.connection.execute(insert.values(workspace=workspace, journey_id=journey_id, version=version,
                                              seed_time=now).on_conflict_do_update(
            index_elements=["workspace", "journey_id"], set_={"version": version, "seed_time": now}))

    def forget_date_seed(self, workspace: str, journey_id: str) -> None:
        """The next refresh runs at once (a resumed journey)."""
        self.connection.execute(delete(journey_date_seeds).where(_s.workspace == workspace,
                                                                 _s.journey_id == journey_id))

    def drop_date_timers(self, workspace: str, journey_id: str, profile: str | None = None) -> None:
        """One profile's timer, or all the journey's (archived) with its refresh note."""
        if profile is not None:
            self.connection.execute(delete(journey_date_timers).where(
                _d.workspace == workspace, _d.journey_id == journey_id, _d.profile == profile))
            return
        self.connection.execute(delete(journey_date_timers).where(_d.workspace == workspace,
                                                                  _d.journey_id == journey_id))
        self.forget_date_seed(workspace, journey_id)

    def claim_date_timers(self, now: datetime, limit: int, lease_until: datetime) -> list[tuple[str, str, DateTimer]]:
        """Due date timers of ACTIVE journeys (a paused one holds them), moved to `lease_until` (a crash before
        the firing commits makes them due again then). PostgreSQL: rows another replica claims are skipped."""
        query = (select(journey_date_timers).join(journeys, and_(_j.workspace == _d.workspace,
                                                                 _j.id == _d.journey_id))
                 .where(_d.due_time <= now, _j.state == ACTIVE).order_by(_d.due_time).limit(limit))
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update(of=journey_date_timers, skip_locked=True)
        claimed = [(r.workspace, r.journey_id, DateTimer(r.profile, r.due_time, r.handled_until))
                   for r in self.connection.execute(query)]
        for workspace, journey_id, t in claimed:
            self.connection.execute(update(journey_date_timers).where(
                _d.workspace == workspace, _d.journey_id == journey_id, _d.profile == t.profile).values(
                due_time=lease_until))
        return claimed

    def set_date_timer(self, workspace: str, journey_id: str, timer: DateTimer) -> None:
        self.connection.execute(update(journey_date_timers).where(
            _d.workspace == workspace, _d.journey_id == journey_id, _d.profile == timer.profile).values(
            due_time=timer.due_time, handled_until=timer.handled_until))

    def journey_version(self, workspace: str, journey_id: str) -> tuple[str, int, Definition] | None:
        """The journey's state and its published version (None: no such journey or never published)."""
        row = self.connection.execute(select(_j.state, _v.version, _v.definition).join(journey_versions, and_(
            _v.workspace == _j.workspace, _v.journey_id == _j.id, _v.version == _j.published_version)).where(
            _j.workspace == workspace, _j.id == journey_id)).first()
        return (row.state, row.version, Definition.from_dict(row.definition)) if row else None

    def add_trail(self, rows: list[Trail]) -> None:
        if rows:
            self.connection.execute(journey_trail.insert(), [
                {"workspace": r.workspace, "journey_id": r.journey_id, "version": r.version, "entry_id": r.entry_id or None,
                 "profile": r.profile, "time": r.time, "kind": r.item.kind, "step": r.item.step,
                 "detail": r.item.detail[:500]} for r in rows])

    def entry_of_send(self, workspace: str, entry_id: str) -> tuple[Entry, Definition] | None:
        row = self.connection.execute(select(journey_entries, _v.definition).join(journey_versions, and_(
            _v.workspace == _e.workspace, _v.journey_id == _e.journey_id, _v.version == _e.version)).where(
            _e.workspace == workspace, _e.id == entry_id)).first()
        return (self._entry(row), Definition.from_dict(row.definition)) if row else None

    # ---- reads
    def figures(self, workspace: str, journey_id: str) -> Figures:
        scope = (_e.workspace == workspace, _e.journey_id == journey_id)
        states = dict(self.connection.execute(select(_e.state, func.count()).where(*scope).group_by(_e.state)).all())
        waiting = dict(self.connection.execute(select(_e.step, func.count()).where(
            *scope, _e.state == INSIDE).group_by(_e.step)).all())
        trail = self.connection.execute(select(_t.kind, _t.step, _t.detail, func.count()).where(
            _t.workspace == workspace, _t.journey_id == journey_id,
            _t.kind.in_(("step", *REQUESTED, *SKIPPED, "refused", "exited")))
            .group_by(_t.kind, _t.step, _t.detail)).all()
        per_step: dict[str, dict] = defaultdict(lambda: {"branches": defaultdict(int), "sent": 0, "skipped": 0,
                                                          "arrived": 0})
        refused = 0
        for kind, step, detail, count in trail:
            if kind == "refused":
                refused += count
            elif kind == "step":
                per_step[step]["branches"][detail] += count
            elif kind in REQUESTED:
                per_step[step]["sent"] += count
            elif kind in SKIPPED:
                per_step[step]["skipped"] += count
            elif kind == "exited":
                per_step[step]["arrived"] += count
        steps = []
        for step in sorted(set(per_step) | set(waiting)):
            s = per_step[step]
            left = sum(s["branches"].values())
            steps.append(StepFigures(step, left + waiting.get(step, 0) + s["arrived"], waiting.get(step, 0),
                                     tuple(sorted(s["branches"].items())), s["sent"], s["skipped"]))
        return Figures(sum(states.values()), refused, states.get(INSIDE, 0), states.get(GOAL, 0),
                       states.get(EXITED, 0), tuple(steps))

    def explain(self, workspace: str, profile: str) -> list[ExplainedEntry]:
        entries = {r.id: self._entry(r) for r in self.connection.execute(select(journey_entries).where(
            _e.workspace == workspace, _e.profile == profile).order_by(_e.enter_time, _e.id))}
        paths: dict[str, list] = defaultdict(list)
        refusals = []
        for r in self.connection.execute(select(journey_trail).where(
                _t.workspace == workspace, _t.profile == profile).order_by(_t.id)):
            item = (r.time, TrailItem(r.kind, r.step, r.detail))
            if r.entry_id:
                paths[r.entry_id].append(item)
            elif r.kind == "refused":
                refusals.append(ExplainedEntry(r.journey_id, r.version, None, r.detail, r.time, ()))
        explained = [ExplainedEntry(e.journey_id, e.version, e, "", e.enter_time, tuple(paths[e.id]))
                     for e in entries.values()]
        return sorted(explained + refusals, key=lambda x: x.time)


class SqlJourneys:
    """The Transaction port: a store over a connection in its own transaction."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @contextmanager
    def __call__(self) -> Iterator[SqlJourneyStore]:
        with self.engine.begin() as connection:
            yield SqlJourneyStore(connection)
