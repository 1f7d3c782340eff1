"""The launch saga of a started campaign.

`follow_campaign` runs inside the inbox transaction of the campaign's own
events: `campaign_started` plans the launch, the other lifecycle events pause,
resume or end it, and `campaign_updated` carries a changed schedule end onto
the launch. `LaunchRunner` advances due launches one step at a time —
take a target's snapshot, hand one page of its members to the notify
service, or make a pending hold, release or cancel of the campaign's messages
there (retried until the notify service answers) — saving after each step, so
a launch stopped anywhere resumes from
its last saved step. A page handed over twice is harmless: each message
carries its idempotency key, and the notify service sends a key once. Past the
schedule's end time the runner hands nothing more over: the launch completes,
its unfinished targets fail with the count left unsent (Launch.cut_short).

The steps, in order and each recorded in the launch's step log: freeze every
target's snapshot, preflight-render one member per target (its template on
its channel) in the content service, schedule the deliveries in notify a page
at a time, initialise tracking. The last is recorded but calls nothing: the
analytics service counts a campaign from the delivery events notify publishes
and needs no set-up today. A step that fails for good (PeerRefused, a
preflight render error) starts the compensations in reverse order, each also
a saved step: void tracking (nothing to undo in analytics today), cancel the
messages queued in notify (its CancelCampaignMessages, idempotent), release
the snapshots (the audience service's DeleteSegmentSnapshot); the launch
then shows FAILED with the failed step and the reason.

Each message handed over carries its due time when the campaign sends at the
recipients' local time, throttles or paces (domain/send_times.py; the zones
come from the audience service's profiles); notify holds it until then. A
member who would be due at or after the schedule's end is not handed over:
the launch stops there (Launch.planned_past_end).

A campaign with an A/B test: the preflight also reads the template's variants
from the content service (fewer than two fails the step for good) and renders
the sample member in each; the deliveries go in two passes around
DECIDE_AB_TEST, which reads the test's figures through AbTestFiguresPort (the
analytics service's report): only at the decide time, or every POLL before it
with `decide_when_significant`. While the analytics service cannot answer,
the step waits and retries (no winner is chosen without figures).

For tests only, with MKT_CAMPAIGN_FAULT_INJECTION=true the runner gets a
SagaFaults (service_layer/faults.py): a campaign labelled `mkt-fault-at` then
fails the step the label names for good, at that point, before its peer is
called; without the setting the runner has none and labels mean nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from dataclasses import dataclass
from typing import Any

from svc_kit import pagination
from svc_kit.errors import Aborted, FieldViolation, InvalidArgument, NotFound

from svc_campaign.domain import ab_test
from svc_campaign.domain.ab_test import Decision, Phase
from svc_campaign.domain.launch import (Launch, MessagesAction, PageOutcome, Step, StepOutcome, idempotency_key,
                                        snapshot_id)
from svc_campaign.domain.send_times import SendOptions
from svc_campaign.service_layer.faults import SagaFaults
from svc_campaign.service_layer.handlers import _load
from svc_campaign.service_layer.ports import (AbTestFiguresPort, AudiencePort, ContentPort, LaunchStore, NoSignals,
                                              NotifyPort, Outgoing, PeerRefused, PeerUnavailable, SchedulerSignals)
from svc_campaign.service_layer.unit_of_work import CampaignRepository, LaunchRepository

log = logging.getLogger("svc_campaign.launch")
PAGE_SIZE = 500
LIFECYCLE = ("campaign_paused", "campaign_resumed", "campaign_cancelled", "campaign_completed", "campaign_deleted")


def _payload(event: Mapping[str, Any]) -> Mapping[str, Any]:
    payload = event.get("payload") or {}
    return payload[1] if isinstance(payload, tuple) else payload


def follow_campaign(campaigns: CampaignRepository, launches: LaunchRepository, event: Mapping[str, Any],
                    now: datetime) -> None:
    """The inbox handler for the campaign's own events (the repositories work in the inbox's transaction).
    Each campaign_started is a run (1 for a one-off campaign; one per occurrence of a recurring one) and
    plans that run's launch; the lifecycle events steer every launch still live, and the newest one."""
    workspace, campaign_id, event_type = event["workspace"], event["aggregate_id"], event["event_type"]
    if event_type == "campaign_started":
        campaign = campaigns.get(workspace, campaign_id)
        if campaign is None:
            return
        payload = _payload(event)
        run = payload.get("run") or 1
        occurrence = payload.get("occurrence_time")
        if isinstance(occurrence, str):
            occurrence = datetime.fromisoformat(occurrence)
        contents = {c.channel: c.template for c in campaign.fields.contents}
        if launches.add(Launch.plan(workspace, campaign_id, campaign.fields.target_segments, contents, now,
                                    _end_time(campaign), _send_options(campaign), campaign.fields.ab_test,
                                    run, occurrence)):
            log.info("launch of %s run %d planned", f"workspaces/{workspace}/campaigns/{campaign_id}", run)
    elif event_type == "campaign_updated":  # schedule.end_time and budget.pacing may change while it runs
        campaign = campaigns.get(workspace, campaign_id)
        for launch in _steered(launches, workspace, campaign_id):
            if campaign is not None and (
                    (launch.end_time, launch.send_options) != (_end_time(campaign), _send_options(campaign))):
                launch.end_time, launch.send_options = _end_time(campaign), _send_options(campaign)
                launches.save(launch)
    elif event_type in LIFECYCLE:
        for launch in _steered(launches, workspace, campaign_id):
            launch.campaign_changed(event_type, now)
            launches.save(launch)


def _steered(launches: LaunchRepository, workspace: str, campaign_id: str) -> list[Launch]:
    """The launches a campaign's change reaches: those still live (an earlier run may still be sending when
    the next starts) and the newest, which carries the hold, release or cancel of the campaign's messages
    in notify even once it has handed everything over."""
    newest = launches.get(workspace, campaign_id)
    if newest is None:
        return []
    return [newest, *(launch for launch in launches.live(workspace, campaign_id) if launch.run != newest.run)]


def _end_time(campaign) -> datetime | None:
    return campaign.fields.schedule.end_time if campaign.fields.schedule else None


def _send_options(campaign) -> SendOptions:
    return SendOptions.of(campaign.fields.schedule, campaign.fields.budget)


def get_launch(workspace: str, campaign_id: str, uow) -> Launch:
    """The launch of the campaign's newest run."""
    with uow:
        _load(uow, workspace, campaign_id)
        launch = uow.launches.get(workspace, campaign_id)
    if launch is None:
        name = f"workspaces/{workspace}/campaigns/{campaign_id}/launch"
        raise NotFound(name, f"{name}: the campaign has not started")
    return launch


def ab_test_decisions(keys: list[tuple[str, str]], uow) -> dict[tuple[str, str], Decision]:
    """The decisions of these campaigns' A/B tests ((workspace, campaign id) each), for those made."""
    found = {}
    with uow:
        for workspace, campaign_id in keys:
            launch = uow.launches.get(workspace, campaign_id)
            if launch is not None and launch.ab is not None and launch.ab.decision is not None:
                found[workspace, campaign_id] = launch.ab.decision
    return found


async def ab_test_readiness(campaign, content: ContentPort | None) -> list[FieldViolation]:
    """An A/B test needs a template with two variants or more: checked at :schedule and :start when the
    content service answers (the launch's preflight checks again, whatever happened to the template since)."""
    if campaign.fields.ab_test is None or content is None or len(campaign.fields.contents) != 1:
        return []
    template = campaign.fields.contents[0].template
    try:
        arms = await content.variants(template)
    except PeerUnavailable as problem:
        log.warning("variants of %s not checked (the launch's preflight will): %s", template, problem)
        return []
    except PeerRefused as problem:
        return [FieldViolation("campaign.contents[0].template", f"the A/B test cannot read its variants: {problem}")]
    if len(arms) < 2:
        return [FieldViolation("campaign.ab_test", f"an A/B test needs a template with at least two variants (of "
                                                   f"weight above 0); {template} has {len(arms)}")]
    return []
@dataclass(frozen=True)
class LaunchPage:
    launches: list[Launch]
    next_page_token: str


def list_launches(workspace: str, campaign_id: str, page_size: int, page_token: str, uow) -> LaunchPage:
    """The campaign's launches, one per run, newest run first, a page at a time."""
    size = pagination.page_size(page_size)
    query_key = pagination.fingerprint(workspace, campaign_id, "launches")
    position = pagination.decode_token(page_token, query_key)
    before = None
    if position is not None:
        if len(position) != 1 or not isinstance(position[0], int) or position[0] < 1:
            raise InvalidArgument(FieldViolation("page_token", "not a token this service issued"))
        before = position[0]
    with uow:
        _load(uow, workspace, campaign_id)
        found = uow.launches.list(workspace, campaign_id, before, size + 1)
    page = found[:size]
    token = pagination.encode_token([page[-1].run], query_key) if len(found) > size else ""
    return LaunchPage(page, token)


class LaunchRunner:
    def __init__(self, store: LaunchStore, audience: AudiencePort, notify: NotifyPort,
                 clock: Callable[[], datetime], content: ContentPort, page_size: int = PAGE_SIZE,
                 figures: AbTestFiguresPort | None = None, faults: SagaFaults | None = None,
                 signals: SchedulerSignals | None = None):
        self.store = store
        self.signals = signals or NoSignals()  # the A/B test's winner step as a timed start (abtest_winner)
        self.faults = faults  # for tests only (MKT_CAMPAIGN_FAULT_INJECTION): None in normal use
        self.figures = figures  # None: an A/B test waits at its decision (the worker always gives one)
        self.audience = audience
        self.content = content
        self.notify = notify
        self.clock = clock
        self.page_size = page_size

    async def run_due(self) -> int:
        """Advances every due launch by one step; returns how many moved."""
        moved = 0
        for launch in self.store.due(self.clock()):
            try:
                self.store.save(await self.step(launch))
                moved += 1
            except Aborted:  # paused or changed meanwhile: read it again next pass
                continue
        return moved

    async def step(self, launch: Launch) -> Launch:
        if launch.pending_action is not None:
            return await self._messages_action(launch)
        step = launch.next_step()
        if step is None:
            return launch
        kind, index = step
        if kind in (Step.VOID_TRACKING, Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT):
            return await self._compensate(launch, kind)
        if launch.window_over(self.clock()):
            log.info("launch of %s cut short: its schedule ended at %s", launch.name, launch.end_time.isoformat())
            launch.cut_short(self.clock())
            return launch
        campaign = launch.name
        try:
            if self.faults is not None:  # a step failed on purpose, before its peer is called
                self.faults.check(launch, kind, index)
            if kind is Step.INIT_TRACKING:
                launch.tracking_done(self.clock(), "nothing to set up: analytics counts the delivery events")
                return launch
            if kind is Step.DECIDE_AB_TEST:
                await self._decide(launch)
                return launch
            target = launch.targets[index]
            if kind is Step.FREEZE_SNAPSHOT:
                taken = await self.audience.snapshot(target.segment, target.channel,
                                                     snapshot_id(launch.campaign_id, target.channel, launch.run),
                                                     campaign)
                launch.snapshot_taken(index, taken.name, taken.size, self.clock())
            elif kind is Step.PREFLIGHT_RENDER:
                if launch.ab is not None and not launch.ab.arms:
                    arms = await self.content.variants(target.template)
                    if len(arms) < 2:
                        raise PeerRefused(f"the A/B test needs a template with at least two variants (of weight "
                                          f"above 0); {target.template} has {len(arms)}")
                    launch.variants_found(arms)
                sample, _ = await self.audience.members(target.snapshot, "", 1)
                if sample and launch.ab is None:
                    await self.content.render(target.template, sample[0], campaign)
                for variant in launch.ab.arms if sample and launch.ab is not None else ():
                    await self.content.render(target.template, sample[0], campaign, variant)
                arms = f" as {', '.join(launch.ab.arms)}" if launch.ab is not None else ""
                launch.preflight_passed(index, self.clock(),
                                        f"rendered for {sample[0]}{arms}" if sample else "no member to render for")
            else:
                await self._schedule_page(launch, index)
        except PeerUnavailable as problem:
            log.warning("launch of %s waits at %s: %s", campaign, kind.value, problem)
            launch.hold_up(str(problem), self.clock(), step)
        except PeerRefused as problem:
            log.warning("launch of %s: %s failed for good, compensating: %s", campaign, kind.value, problem)
            launch.step_failed(kind, index, str(problem), self.clock())
        return launch

    async def _schedule_page(self, launch: Launch, index: int) -> None:
        """Hands the next page of target `index` to notify, each message with its due time (domain/send_times.py)
        and, with an A/B test, its variant; members due at or after the schedule's end are not handed over and
        end the launch."""
        target = launch.targets[index]
        profiles, cursor = await self.audience.members(target.snapshot, target.cursor, self.page_size)
        chosen = self._this_pass(launch, profiles)
        recipients = [p for p, _ in chosen]
        zones = (await self.audience.time_zones(launch.workspace, recipients)
                 if recipients and launch.send_options.local else {})
        due = launch.due_times(index, recipients, zones)
        late = launch.past_end(due)
        handed = chosen if late is None else chosen[:late]
        outgoing = [Outgoing(p, idempotency_key(launch.campaign_id, p.rsplit("/", 1)[-1], target.channel,
                                                            run=launch.run),
                             send_time=when, variant=variant)
                    for (p, variant), when in zip(handed, due)]
        sent, duplicates, refused = (await self.notify.send(launch.workspace, launch.name, target.channel,
                                                            target.template, outgoing)
                                     if outgoing else (0, 0, 0))
        latest = max((d for d in due[:len(handed)] if d is not None), default=None)
        if late is None:
            launch.page_sent(index, PageOutcome(sent, duplicates, refused, cursor), self.clock(), latest)
        else:
            log.info("launch of %s: member %d of the plan would be due after the schedule's end, cut short",
                     launch.name, launch.position(index) + late)
            launch.planned_past_end(index, PageOutcome(sent, duplicates, refused, cursor), self.clock(), latest)

    @staticmethod
    def _this_pass(launch: Launch, profiles: list[str]) -> list[tuple[str, str]]:
        """The page's members this pass sends to, each with the variant to send ("": the recipient's assigned
        one): every member, or with an A/B test the test share (each with its arm's variant) in the first pass
        and the others (with the winner) in the second. The idempotency key is one per member and channel
        whatever the pass, so a member never gets two."""
        if launch.ab is None:
            return [(p, "") for p in profiles]
        chosen = []
        for profile in profiles:
            arm = launch.ab.arm_of(launch.campaign_id, profile.rsplit("/", 1)[-1])
            if (arm is None) == (launch.ab.phase is Phase.TEST):
                continue  # not in this pass
            chosen.append((profile, arm or launch.ab.decision.winner))
        return chosen

    async def _decide(self, launch: Launch) -> None:
        """DECIDE_AB_TEST: the winner once the wait is over (or earlier, on a significant result)."""
        ab, now = launch.ab, self.clock()
        if ab.decide_time is not None and now < ab.decide_time and not ab.decide_when_significant:
            launch.ab_waits(now, f"waiting until {ab.decide_time.isoformat()}")
            return
        if self.figures is None:
            raise PeerUnavailable("no analytics service to read the A/B test's figures from")
        channel = launch.targets[0].channel
        figures = await self.figures.figures(launch.name, channel, ab.goal_metric)
        decision = ab_test.decide(ab.arms, figures, now, ab.decide_time, ab.decide_when_significant)
        if decision is None:
            shown = ", ".join(f"{f.variant} {f.goal_count}/{f.base}" for f in figures.variants) or "no figures yet"
            until = (f"deciding at {ab.decide_time.isoformat()} at the latest" if ab.decide_time
                     else "waiting for a significant result")
            launch.ab_waits(now, f"no significant difference yet ({shown}); {until}")
            return
        log.info("A/B test of %s: %s wins (%s)", launch.name, decision.winner, decision.reason.value)
        launch.ab_decided(decision, now)
        if ab.decide_time is not None and now >= ab.decide_time:  # a decision at its planned time: how late
            self.signals.campaign_start("abtest_winner", "ok", (now - ab.decide_time).total_seconds())

    async def _compensate(self, launch: Launch, kind: Step) -> Launch:
        campaign = launch.name
        try:
            if kind is Step.VOID_TRACKING:
                launch.compensated(kind, StepOutcome.DONE, self.clock(), "nothing was set up in analytics")
            elif kind is Step.CANCEL_MESSAGES:
                outcome = await self.notify.cancel(launch.workspace, campaign)
                launch.cancelled_messages, launch.handed_over_messages = outcome.cancelled, outcome.handed_over
                launch.compensated(kind, StepOutcome.DONE, self.clock(),
                                   f"{outcome.cancelled} cancelled, {outcome.handed_over} already handed over")
            else:
                snapshots = [t.snapshot for t in launch.targets if t.snapshot]
                for snapshot in snapshots:
                    await self.audience.release(snapshot)
                launch.compensated(kind, StepOutcome.DONE, self.clock(), ", ".join(snapshots))
        except PeerUnavailable as problem:
            log.warning("compensation %s of %s waits: %s", kind.value, campaign, problem)
            launch.hold_up(str(problem), self.clock(), (kind, None))
        except PeerRefused as problem:
            log.warning("compensation %s of %s not possible: %s", kind.value, campaign, problem)
            launch.compensated(kind, StepOutcome.NOT_POSSIBLE, self.clock(), str(problem))
        return launch

    async def _messages_action(self, launch: Launch) -> Launch:
        action, campaign = launch.pending_action, launch.name
        try:
            if action is MessagesAction.CANCEL:
                launch.action_done(action, self.clock(), await self.notify.cancel(launch.workspace, campaign))
            elif action is MessagesAction.HOLD:
                await self.notify.hold(launch.workspace, campaign)
                launch.action_done(action, self.clock())
            else:
                await self.notify.release(launch.workspace, campaign)
                launch.action_done(action, self.clock())
        except (PeerUnavailable, PeerRefused) as problem:  # the campaign's state stands: try again later
            log.warning("%s of the messages of %s waits: %s", action.value.lower(), campaign, problem)
            launch.hold_up(str(problem), self.clock())
        return launch
