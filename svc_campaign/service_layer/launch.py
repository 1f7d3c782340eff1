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
then shows FAILED with the failed step and the reason."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from dataclasses import dataclass
from typing import Any

from svc_kit import pagination
from svc_kit.errors import Aborted, FieldViolation, InvalidArgument, NotFound

from svc_campaign.domain.launch import (Launch, MessagesAction, PageOutcome, Step, StepOutcome, idempotency_key,
                                        snapshot_id)
from svc_campaign.service_layer.handlers import _load
from svc_campaign.service_layer.ports import (AudiencePort, ContentPort, LaunchStore, NotifyPort, Outgoing,
                                              PeerRefused, PeerUnavailable)
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
                                    _end_time(campaign), run, occurrence)):
            log.info("launch of %s run %d planned", f"workspaces/{workspace}/campaigns/{campaign_id}", run)
    elif event_type == "campaign_updated":  # schedule.end_time may change while the campaign runs
        campaign = campaigns.get(workspace, campaign_id)
        for launch in _steered(launches, workspace, campaign_id):
            if campaign is not None and launch.end_time != _end_time(campaign):
                launch.end_time = _end_time(campaign)
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


def get_launch(workspace: str, campaign_id: str, uow) -> Launch:
    """The launch of the campaign's newest run."""
    with uow:
        _load(uow, workspace, campaign_id)
        launch = uow.launches.get(workspace, campaign_id)
    if launch is None:
        name = f"workspaces/{workspace}/campaigns/{campaign_id}/launch"
        raise NotFound(name, f"{name}: the campaign has not started")
    return launch


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
                 clock: Callable[[], datetime], content: ContentPort, page_size: int = PAGE_SIZE):
        self.store = store
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
            if kind is Step.INIT_TRACKING:
                launch.tracking_done(self.clock(), "nothing to set up: analytics counts the delivery events")
                return launch
            target = launch.targets[index]
            if kind is Step.FREEZE_SNAPSHOT:
                taken = await self.audience.snapshot(target.segment, target.channel,
                                                     snapshot_id(launch.campaign_id, target.channel, launch.run),
                                                     campaign)
                launch.snapshot_taken(index, taken.name, taken.size, self.clock())
            elif kind is Step.PREFLIGHT_RENDER:
                sample, _ = await self.audience.members(target.snapshot, "", 1)
                if sample:
                    await self.content.render(target.template, sample[0], campaign)
                launch.preflight_passed(index, self.clock(),
                                        f"rendered for {sample[0]}" if sample else "no member to render for")
            else:
                profiles, cursor = await self.audience.members(target.snapshot, target.cursor, self.page_size)
                outgoing = [Outgoing(p, idempotency_key(launch.campaign_id, p.rsplit("/", 1)[-1], target.channel,
                                                        run=launch.run))
                            for p in profiles]
                sent, duplicates, refused = (await self.notify.send(launch.workspace, campaign, target.channel,
                                                                    target.template, outgoing)
                                             if outgoing else (0, 0, 0))
                launch.page_sent(index, PageOutcome(sent, duplicates, refused, cursor), self.clock())
        except PeerUnavailable as problem:
            log.warning("launch of %s waits at %s: %s", campaign, kind.value, problem)
            launch.hold_up(str(problem), self.clock(), step)
        except PeerRefused as problem:
            log.warning("launch of %s: %s failed for good, compensating: %s", campaign, kind.value, problem)
            launch.step_failed(kind, index, str(problem), self.clock())
        return launch

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
