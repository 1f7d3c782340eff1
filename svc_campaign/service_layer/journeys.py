"""Journeys' use cases: the API's (create, edit, publish, pause, resume,
archive, delete, figures, explanations) and the runtime's (tracked events,
segment changes and notify's message events in; due timers out, with their
sends through notify).

The runtime's guarantees:
- one entry per journey version, profile and trigger event (the store's unique key; the consumers' inbox
  already drops a redelivered event, the key also holds across subscriptions and replays);
- a pass over a due entry runs outside any transaction: claimed first (its timer moved to a lease), its sends
  handed to notify with keys derived from the journey, the entry and the step, then its new position
  committed if nobody moved the entry meanwhile. A crash anywhere repeats the pass after the lease with the
  same keys: notify sends nothing twice;
- pause stops entries and holds timers (the claim skips paused journeys); archive stops entries only (drain).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from svc_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from svc_kit.pagination import fingerprint, timed_keyset_page

from svc_campaign.domain.journey import (ACTIVE, ARCHIVED, DATE_LATE, DRAFT, INSIDE, PAUSED, Definition, Journey,
                                         Pass, TrailItem, advance, date_trigger_event, enter, last_date_occurrence,
                                         local_date, next_date_occurrence, on_event, refusal,
                                         validate_display_name)
from svc_campaign.service_layer.journey_ports import (DateTimer, ExplainedEntry, Figures, JourneyAudiencePort,
                                                      JourneyIntegrationsPort, JourneyNotifyPort, JourneySend, Trail,
                                                      Transaction)
from svc_campaign.service_layer.ports import PeerRefused, PeerUnavailable

log = logging.getLogger("svc_campaign.journeys")
LEASE = timedelta(seconds=30)
CLAIM_BATCH = 500
DATE_REFRESH = timedelta(hours=6)  # a date-triggered journey's timers are set again from audience this often


class JourneySignals:
    """What the runtime reports (adapters/metrics.py implements it with Prometheus)."""

    def entered(self, count: int) -> None: ...
    def refused(self, count: int) -> None: ...
    def ended(self, how: str, count: int) -> None: ...
    def sends(self, outcome: str, count: int) -> None: ...
    def timer_lag(self, seconds: float) -> None: ...
    def evaluated(self, count: int) -> None: ...


# ---------------------------------------------------------------- API

def _found(store, workspace: str, journey_id: str) -> Journey:
    journey = store.get_journey(workspace, journey_id)
    if journey is None:
        raise NotFound(f"workspaces/{workspace}/journeys/{journey_id}")
    return journey


def create_journey(tx: Transaction, workspace: str, journey_id: str, display_name: str, draft: Definition,
                   now: datetime, new_id: Callable[[], str]) -> Journey:
    validate_display_name(display_name)
    journey = Journey(workspace, journey_id or new_id().lower(), display_name, DRAFT, draft, 0, 1, now, now)
    with tx() as store:
        store.add_journey(journey)
    return journey


def get_journey(tx: Transaction, workspace: str, journey_id: str) -> Journey:
    with tx() as store:
        return _found(store, workspace, journey_id)


def list_journeys(tx: Transaction, workspace: str, page_size: int, token: str) -> tuple[list[Journey], str]:
    with tx() as store:
        return timed_keyset_page(lambda after, limit: store.list_journeys(workspace, after, limit),
                                 lambda j: (j.create_time, j.id), page_size, token, fingerprint("journeys", workspace))


def update_journey(tx: Transaction, workspace: str, journey_id: str, etag: str, display_name: str | None,
                   draft: Definition | None, now: datetime) -> Journey:
    if display_name is not None:
        validate_display_name(display_name)
    with tx() as store:
        journey = _found(store, workspace, journey_id)
        journey.check_etag(etag)
        expected = journey.revision
        journey.edit(display_name, draft, now)
        store.save_journey(journey, expected)
    return journey


def delete_journey(tx: Transaction, workspace: str, journey_id: str, etag: str) -> None:
    with tx() as store:
        journey = _found(store, workspace, journey_id)
        journey.check_etag(etag)
        if store.has_active_entries(workspace, journey_id):
            raise FailedPrecondition(f"{journey.name} has profiles inside; archive it and let them finish first")
        store.delete_journey(workspace, journey_id)


def publish_journey(tx: Transaction, workspace: str, journey_id: str, etag: str, now: datetime) -> Journey:
    with tx() as store:
        journey = _found(store, workspace, journey_id)
        journey.check_etag(etag)
        expected = journey.revision
        version = journey.publish(now)
        store.add_version(journey, version, journey.draft, now)
        store.save_journey(journey, expected)
    log.info("journey %s version %d published", journey.name, version)
    return journey


def change_journey(tx: Transaction, workspace: str, journey_id: str, action: str, etag: str,
                   now: datetime) -> Journey:
    with tx() as store:
        journey = _found(store, workspace, journey_id)
        journey.check_etag(etag)
        expected = journey.revision
        journey.change(action, now)
        store.save_journey(journey, expected)
        if action == "archive":
            store.drop_date_timers(workspace, journey_id)  # a date trigger's timers go: no new entries
        elif action == "resume":
            store.forget_date_seed(workspace, journey_id)  # a date trigger's timers are set again at once
    log.info("journey %s: %s -> %s", journey.name, action, journey.state)
    return journey


def journey_figures(tx: Transaction, workspace: str, journey_id: str) -> Figures:
    with tx() as store:
        _found(store, workspace, journey_id)
        return store.figures(workspace, journey_id)


def explain_profile(tx: Transaction, workspace: str, profile: str) -> list[ExplainedEntry]:
    with tx() as store:
        return store.explain(workspace, profile)


# ---------------------------------------------------------------- runtime: events in

def profile_id(value: str) -> str:
    """`workspaces/{w}/profiles/{p}` or a bare id -> p."""
    return value.rsplit("/", 1)[-1]


@dataclass
class Outcome:
    entered: int = 0
    refused: int = 0
    goal: int = 0
    moved: int = 0  # entries made due now (the timer worker should look)
    trail: list[Trail] = field(default_factory=list)


def _try_enter(store, workspace: str, journey_id: str, version: int, definition: Definition, profile: str,
               trigger_event: str, now: datetime, new_id: Callable[[], str], outcome: Outcome) -> None:
    store.lock_profile(workspace, journey_id, profile)  # another replica deciding for this profile waits
    if store.has_entry(workspace, journey_id, version, profile, trigger_event):
        return  # this trigger event made its entry already (a redelivery): nothing to do, nothing refused
    why = refusal(definition.reentry, store.past_entries(workspace, journey_id, profile), now)
    if why is not None:
        outcome.refused += 1
        outcome.trail.append(Trail(workspace, journey_id, version, "", profile, now,
                                   TrailItem("refused", "", why)))
        return
    entry = enter(new_id(), workspace, journey_id, version, definition, profile, now)
    if store.add_entry(entry, trigger_event):  # False: this trigger event made its entry already
        outcome.entered += 1
        outcome.moved += 1
        outcome.trail.append(Trail(workspace, journey_id, version, entry.id, profile, now,
                                   TrailItem("entered", definition.entry_step, trigger_event)))


def _apply(store, done: Pass, expected_revision: int, now: datetime, outcome: Outcome) -> None:
    e = done.entry
    if not store.save_entry(e, expected_revision):
        return  # the timer worker holds it: its commit decides (the event was applied to a stale copy)
    outcome.trail.extend(Trail(e.workspace, e.journey_id, e.version, e.id, e.profile, now, t) for t in done.trail)
    if e.state == "GOAL":
        outcome.goal += 1
    elif e.due_time is not None and e.due_time <= now:
        outcome.moved += 1


def on_tracked(store, workspace: str, profile: str, name: str, properties: dict[str, str], event_id: str,
               now: datetime, new_id: Callable[[], str]) -> Outcome:
    """A tracked event: first it moves the profile's entries (goal, awaited or watched events), then it may
    make entries into journeys it triggers (so a goal event that is also a trigger starts afresh)."""
    outcome = Outcome()
    profile = profile_id(profile)
    for entry, definition in store.active_entries(workspace, profile):
        done = on_event(definition, entry, name, now)
        if done is not None:
            _apply(store, done, entry.revision, now, outcome)
    for journey_id, version, definition in store.live_versions(workspace, "event", name):
        if definition.trigger.matches_event(name, properties):
            _try_enter(store, workspace, journey_id, version, definition, profile, event_id, now, new_id, outcome)
    store.add_trail(outcome.trail)
    return outcome


def on_segment_change(store, workspace: str, segment: str, added: list[str], removed: list[str], event_id: str,
                      now: datetime, new_id: Callable[[], str]) -> Outcome:
    outcome = Outcome()
    for kind, profiles in (("segment_entered", added), ("segment_left", removed)):
        if not profiles:
            continue
        for journey_id, version, definition in store.live_versions(workspace, kind, segment):
            for profile in profiles:
                _try_enter(store, workspace, journey_id, version, definition, profile_id(profile),
                           f"{event_id}", now, new_id, outcome)
    store.add_trail(outcome.trail)
    return outcome


SKIPPING_EVENTS = {"message_suppressed": "send_skipped", "message_failed": "send_failed"}
# Engagement with a journey's own message: the entry sees it as an event of this name (a wait for
# `message_opened`, a branch on `message_clicked`).
ENGAGEMENT_EVENTS = ("message_delivered", "message_opened", "message_clicked")
MESSAGE_EVENTS = (*SKIPPING_EVENTS, *ENGAGEMENT_EVENTS)


def on_message_event(store, workspace: str, event_type: str, idempotency_key: str, reason: str,
                     now: datetime) -> Outcome | None:
    """notify's word on a journey's send (its idempotency key `journeys/{j}/entries/{e}/steps/{s}`): a skipped
    or failed send goes on the entry's trail with notify's reason; a delivery, open or click is an event of
    the entry (it may end a wait for it). None when it was not a journey's message."""
    parts = idempotency_key.split("/")
    if event_type not in MESSAGE_EVENTS or len(parts) != 6 or parts[0] != "journeys" or parts[2] != "entries" \
            or parts[4] != "steps":
        return None
    found = store.entry_of_send(workspace, parts[3])
    if found is None:
        return None
    entry, definition = found
    outcome = Outcome()
    if event_type in SKIPPING_EVENTS:
        outcome.trail.append(Trail(workspace, entry.journey_id, entry.version, entry.id, entry.profile, now,
                                   TrailItem(SKIPPING_EVENTS[event_type], parts[5], reason or event_type)))
    else:
        done = on_event(definition, entry, event_type, now)
        if done is not None:
            _apply(store, done, entry.revision, now, outcome)
    store.add_trail(outcome.trail)
    return outcome


# ---------------------------------------------------------------- runtime: timers out

async def run_due(tx: Transaction, notify: JourneyNotifyPort, clock: Callable[[], datetime],
                  limit: int = CLAIM_BATCH, signals: JourneySignals | None = None,
                  audience: JourneyAudiencePort | None = None,
                  integrations: JourneyIntegrationsPort | None = None) -> int:
    """One pass over due entries (at most `limit`): claim, advance, send (and change static segments, update
    attributes, call webhooks), commit. Returns how many it claimed. Within a pass the sends go first, then the
    static segment changes, the attribute updates, then the webhook calls. A branch on a profile attribute reads
    the profiles' attributes from audience first; when audience cannot answer, the claimed entries come due
    again after their lease (no branch is guessed)."""
    signals = signals or JourneySignals()
    now = clock()
    segments: dict[tuple[str, str], frozenset[str]] = {}
    with tx() as store:
        claimed = store.claim_due(now, limit, now + LEASE)
        asking: dict[str, set[str]] = defaultdict(set)  # profiles whose journey branches on segments
        for entry, definition in claimed:
            if definition.segment_branches():
                asking[entry.workspace].add(entry.profile)
        for workspace, profiles in asking.items():
            for profile, ids in store.memberships(workspace, sorted(profiles)).items():
                segments[(workspace, profile)] = ids
    if not claimed:
        return 0
    zones = await _time_zones(audience, claimed)
    try:
        attributes = await _attributes(audience, claimed)
    except PeerUnavailable as problem:
        log.warning("profiles' attributes for branches: %s; retried after the lease", problem)
        return len(claimed)
    passes: list[tuple[Pass, int]] = []
    for entry, definition in claimed:
        if entry.due_time is not None:
            signals.timer_lag(max(0.0, (now - entry.due_time).total_seconds()))
        key = (entry.workspace, entry.profile)
        passes.append((advance(definition, entry, now, segments.get(key, frozenset()), zones.get(key, "UTC"),
                               attributes.get(key, {})), entry.revision))
    # every send of the pass, one notify call per workspace
    by_workspace: dict[str, list[tuple[Pass, JourneySend]]] = defaultdict(list)
    for done, _ in passes:
        e = done.entry
        for s in done.sends:
            by_workspace[e.workspace].append((done, JourneySend(
                f"workspaces/{e.workspace}/profiles/{e.profile}", s.channel, s.template, s.idempotency_key,
                f"workspaces/{e.workspace}/journeys/{e.journey_id}")))
    refusals: dict[str, str] = {}
    for workspace, items in by_workspace.items():
        try:
            results = await notify.send_journey_messages(workspace, [s for _, s in items])
        except PeerUnavailable as problem:  # the claimed entries come due again when their lease ends
            log.warning("journey sends for %s: %s; retried after the lease", workspace, problem)
            signals.sends("unavailable", len(items))
            return len(claimed)
        except PeerRefused as problem:
            results = [str(problem)] * len(items)
        for (_, send), why in zip(items, results, strict=True):
            if why:
                refusals[send.idempotency_key] = why
        signals.sends("refused", sum(1 for r in results if r))
        signals.sends("ok", sum(1 for r in results if not r))
    # static segment steps: one audience call per segment and direction
    changes: dict[tuple[str, bool], list[tuple[Pass, str]]] = defaultdict(list)
    for done, _ in passes:
        for m in done.memberships:
            changes[(m.segment, m.add)].append((done, m.step))
    for (segment, add), items in changes.items():
        profiles = sorted({done.entry.profile for done, _ in items})
        keys = [f"segment/{done.entry.id}/{step}" for done, step in items]
        if audience is None:
            refusals.update((k, "no audience service is wired in this process") for k in keys)
            continue
        try:
            unknown = set()
            for start in range(0, len(profiles), 1000):  # AddSegmentMembers' limit
                unknown |= set(await audience.change_members(segment, profiles[start:start + 1000], add))
        except PeerUnavailable as problem:
            log.warning("journey segment step: %s; retried after the lease", problem)
            return len(claimed)
        except PeerRefused as problem:
            refusals.update((k, str(problem)) for k in keys)
            continue
        for (done, step), k in zip(items, keys):
            if done.entry.profile in unknown:
                refusals[k] = f"the audience service has no profile {done.entry.profile}"
    for done, _ in passes:
        e = done.entry
        for u in done.updates:
            if audience is None:
                refusals[f"update/{e.id}/{u.step}"] = "no audience service is wired in this process"
                continue
            try:
                await audience.set_attribute(e.workspace, e.profile, u.attribute, u.value)
            except PeerUnavailable as problem:
                log.warning("journey attribute update: %s; retried after the lease", problem)
                return len(claimed)
            except PeerRefused as problem:
                refusals[f"update/{e.id}/{u.step}"] = str(problem)
        for w in done.webhooks:
            data = {"journey": f"workspaces/{e.workspace}/journeys/{e.journey_id}", "version": e.version,
                    "entry": e.id, "step": w.step, "profile": f"workspaces/{e.workspace}/profiles/{e.profile}"}
            if integrations is None:
                refusals[f"webhook/{e.id}/{w.step}"] = "no integrations service is wired in this process"
                continue
            try:
                await integrations.deliver_webhook_event(w.webhook, data, w.idempotency_key)
            except PeerUnavailable as problem:
                log.warning("journey webhook call: %s; retried after the lease", problem)
                return len(claimed)
            except PeerRefused as problem:
                refusals[f"webhook/{e.id}/{w.step}"] = str(problem)
    trail: list[Trail] = []
    ended: dict[str, int] = defaultdict(int)
    with tx() as store:
        for done, expected in passes:
            e = done.entry
            if not store.save_entry(e, expected):
                continue  # moved meanwhile (a goal event): its own change stands
            for t in done.trail:
                trail.append(Trail(e.workspace, e.journey_id, e.version, e.id, e.profile, now, t))
                if t.kind == "send_requested":
                    key = f"journeys/{e.journey_id}/entries/{e.id}/steps/{t.step}"
                    if key in refusals:
                        trail.append(Trail(e.workspace, e.journey_id, e.version, e.id, e.profile, now,
                                           TrailItem("send_failed", t.step, refusals[key])))
                if t.kind == "update_requested" and f"update/{e.id}/{t.step}" in refusals:
                    trail.append(Trail(e.workspace, e.journey_id, e.version, e.id, e.profile, now,
                                       TrailItem("update_failed", t.step, refusals[f"update/{e.id}/{t.step}"])))
                if t.kind in ("segment_add", "segment_remove") and f"segment/{e.id}/{t.step}" in refusals:
                    trail.append(Trail(e.workspace, e.journey_id, e.version, e.id, e.profile, now,
                                       TrailItem("segment_failed", t.step, refusals[f"segment/{e.id}/{t.step}"])))
                if t.kind == "webhook_queued" and f"webhook/{e.id}/{t.step}" in refusals:
                    trail.append(Trail(e.workspace, e.journey_id, e.version, e.id, e.profile, now,
                                       TrailItem("webhook_skipped", t.step, refusals[f"webhook/{e.id}/{t.step}"])))
            if e.state != INSIDE:
                ended[e.state.lower()] += 1
        store.add_trail(trail)
    signals.evaluated(len(passes))
    for how, count in ended.items():
        signals.ended(how, count)
    return len(claimed)


async def _time_zones(audience: JourneyAudiencePort | None, claimed) -> dict[tuple[str, str], str]:
    """The zones of the profiles whose journey waits until a time of day (from audience; UTC when audience
    does not answer: the wait then ends at that time in UTC, logged)."""
    asking: dict[str, set[str]] = defaultdict(set)
    for entry, definition in claimed:
        if definition.time_of_day_waits():
            asking[entry.workspace].add(entry.profile)
    zones: dict[tuple[str, str], str] = {}
    if audience is None:
        return zones
    for workspace, profiles in asking.items():
        try:
            found = await audience.time_zones(workspace, sorted(profiles))
        except (PeerUnavailable, PeerRefused) as problem:
            log.warning("profiles' time zones: %s; waits until a time of day use UTC", problem)
            continue
        zones.update(((workspace, p), z) for p, z in found.items() if z)
    return zones


async def _attributes(audience: JourneyAudiencePort | None, claimed) -> dict[tuple[str, str], dict[str, str]]:
    """The attributes of the profiles whose journey branches on one, as audience has them now. PeerUnavailable
    when audience cannot answer (or is not wired: the pass waits for it rather than guess a branch)."""
    asking: dict[str, set[str]] = defaultdict(set)
    for entry, definition in claimed:
        if definition.attribute_branches():
            asking[entry.workspace].add(entry.profile)
    found: dict[tuple[str, str], dict[str, str]] = {}
    if not asking:
        return found
    if audience is None:
        raise PeerUnavailable("no audience service is wired in this process")
    for workspace, profiles in asking.items():
        try:
            answer = await audience.attributes(workspace, sorted(profiles))
        except PeerRefused as problem:  # e.g. the workspace is gone: no profile has attributes
            log.warning("profiles' attributes: %s; branches see none", problem)
            continue
        found.update(((workspace, p), values) for p, values in answer.items())
    return found


# ---------------------------------------------------------------- runtime: date attribute triggers

async def seed_date_timers(tx: Transaction, audience: JourneyAudiencePort, clock: Callable[[], datetime],
                           new_round: Callable[[], str]) -> int:
    """Sets the timers of the ACTIVE date-triggered journeys that need it (a version never seeded, a resumed
    journey, or the last refresh older than DATE_REFRESH) from audience's profiles with the date attribute:
    each profile's timer is due at its date's next occurrence, counting one that passed less than DATE_LATE ago
    and has not fired (so a journey published an hour after the trigger's minute still enters today's). The
    journey's other timers (no date any more, erased profiles) go. Returns how many journeys it refreshed.
    PeerUnavailable: the rest waits for the next pass; audience refusing a workspace (gone): its journeys keep
    no timers until the next refresh."""
    now = clock()
    with tx() as store:
        due = store.date_journeys_to_seed(now - DATE_REFRESH)
    for workspace, journey_id, version, definition in due:
        trigger = definition.trigger
        seed_round, token = new_round(), ""
        while True:
            try:
                page, token = await audience.date_values(workspace, trigger.attribute, token)
            except PeerRefused as problem:
                log.warning("date timers of workspaces/%s/journeys/%s: %s", workspace, journey_id, problem)
                page, token = [], ""
            with tx() as store:
                handled = store.date_timers(workspace, journey_id, [p for p, _, _ in page])
                timers = []
                for profile, value, zone in page:
                    last = handled.get(profile)
                    after = max(now - DATE_LATE, last) if last is not None else now - DATE_LATE
                    due_time = next_date_occurrence(value, trigger.minute_of_day, zone, after)
                    if due_time is not None:
                        timers.append(DateTimer(profile, due_time, last))
                store.put_date_timers(workspace, journey_id, timers, seed_round)
            if not token:
                break
        with tx() as store:
            store.end_date_seed(workspace, journey_id, version, seed_round, now)
        log.info("journey workspaces/%s/journeys/%s: date timers set (version %d)", workspace, journey_id, version)
    return len(due)


async def run_date_timers(tx: Transaction, audience: JourneyAudiencePort, clock: Callable[[], datetime],
                          new_id: Callable[[], str], limit: int = CLAIM_BATCH) -> Outcome:
    """Fires due date timers (at most `limit`): claims them (leased), re-reads each profile's date and zone
    from audience (it may have changed), enters the profile when its date's occurrence came less than
    DATE_LATE ago and has not fired yet (trigger event `date:{attribute}:{local date}`: one entry per journey
    version, profile and year; the re-entry rule applies), and moves the timer to the next occurrence. A
    profile without the date any more loses its timer; when audience cannot answer the timers come due again
    after their lease."""
    now = clock()
    with tx() as store:
        claimed = store.claim_date_timers(now, limit, now + LEASE)
        versions = {(w, j): store.journey_version(w, j) for w, j in {(w, j) for w, j, _ in claimed}}
    outcome = Outcome()
    if not claimed:
        return outcome
    asking: dict[tuple[str, str], set[str]] = defaultdict(set)
    for w, j, timer in claimed:
        found = versions[(w, j)]
        if found is not None and found[0] == ACTIVE:
            asking[(w, found[2].trigger.attribute)].add(timer.profile)
    dates: dict[tuple[str, str, str], tuple[str, str]] = {}
    for (workspace, attribute), profiles in asking.items():
        try:
            answer = await audience.dates(workspace, sorted(profiles), attribute)
        except PeerUnavailable as problem:
            log.warning("profiles' dates for date triggers: %s; retried after the lease", problem)
            return outcome
        except PeerRefused as problem:  # e.g. the workspace is gone: no profile has the date
            log.warning("profiles' dates for date triggers: %s", problem)
            answer = {}
        dates.update(((workspace, attribute, p), v) for p, v in answer.items())
    with tx() as store:
        for w, j, timer in claimed:
            found = versions[(w, j)]
            if found is None or found[0] == ARCHIVED:
                store.drop_date_timers(w, j, timer.profile)
                continue
            state, version, definition = found
            if state == PAUSED:
                continue  # held at its lease: the claim skips paused journeys until resumed
            trigger = definition.trigger
            value, zone = dates.get((w, trigger.attribute, timer.profile), ("", ""))
            following = next_date_occurrence(value, trigger.minute_of_day, zone, now)
            if following is None:  # no date (any more), or no such profile
                store.drop_date_timers(w, j, timer.profile)
                continue
            handled = timer.handled_until
            last = last_date_occurrence(value, trigger.minute_of_day, zone, now)
            if last is not None and now - last < DATE_LATE and (handled is None or last > handled):
                _try_enter(store, w, j, version, definition, timer.profile,
                           date_trigger_event(trigger.attribute, local_date(last, zone)), now, new_id, outcome)
                handled = last
            store.set_date_timer(w, j, DateTimer(timer.profile, following, handled))
        store.add_trail(outcome.trail)
    return outcome


def next_due_time(tx: Transaction) -> datetime | None:
    with tx() as store:
        return store.next_due_time()


def validate_id(journey_id: str) -> None:
    import re
    if journey_id and not re.match(r"^[a-z0-9][a-z0-9-]{0,62}$", journey_id):
        raise InvalidArgument(FieldViolation("journey_id", "1-63 characters [a-z0-9][a-z0-9-]*"))
