"""The journeys' RPCs of CampaignService (a mixin of CampaignServicer) and their proto <-> domain mapping."""

from __future__ import annotations

from datetime import timedelta

from google.protobuf import empty_pb2

from marketing.campaign.v1 import campaign_service_pb2 as pb
from marketing.campaign.v1 import journey_pb2 as jpb
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.names import name_field, parent_field
from svc_kit.proto_enums import channel_from_proto, channel_to_proto
from svc_kit.channels import Channel

from svc_campaign.domain.journey import (Condition, Definition, Journey, Reentry, Step, Trigger,
                                         validate_for_publish)
from svc_campaign.service_layer import journeys
from svc_campaign.service_layer.journey_ports import ExplainedEntry, Figures
from svc_campaign.service_layer.ports import PeerRefused, PeerUnavailable

_STATES = {"DRAFT": jpb.Journey.STATE_DRAFT, "ACTIVE": jpb.Journey.STATE_ACTIVE,
           "PAUSED": jpb.Journey.STATE_PAUSED, "ARCHIVED": jpb.Journey.STATE_ARCHIVED}
_TRIGGER_FIELDS = ("event", "segment_entered", "segment_left", "date_attribute")


def _enum_name(enum, value: int, prefix: str) -> str:
    """OPERATOR_EQUALS -> EQUALS; 0 -> ""."""
    return enum.Name(value).removeprefix(prefix) if value else ""


def _enum_value(enum, prefix: str, name: str) -> int:
    """EQUALS -> OPERATOR_EQUALS's number; unknown or empty -> 0 (a draft may hold anything)."""
    try:
        return enum.Value(f"{prefix}{name}")
    except ValueError:
        return 0


def _condition_from_proto(c: jpb.PropertyCondition) -> Condition:
    return Condition(c.property, _enum_name(jpb.PropertyCondition.Operator, c.operator, "OPERATOR_"), c.value)


def _condition_to_proto(c: Condition, out: jpb.PropertyCondition) -> None:
    out.property, out.value = c.property, c.value
    out.operator = _enum_value(jpb.PropertyCondition.Operator, "OPERATOR_", c.operator)


def definition_from_proto(d: jpb.JourneyDefinition) -> Definition:
    t = d.trigger
    kind = t.WhichOneof("kind") or ""
    trigger = Trigger(kind)
    if kind == "event":
        trigger = Trigger(kind, t.event.event, tuple(_condition_from_proto(c) for c in t.event.conditions))
    elif kind in ("segment_entered", "segment_left"):
        trigger = Trigger(kind, segment=getattr(t, kind).segment)
    elif kind == "date_attribute":
        trigger = Trigger(kind, attribute=t.date_attribute.attribute, minute_of_day=t.date_attribute.minute_of_day)
    steps = []
    for s in d.steps:
        kind = s.WhichOneof("kind") or ""
        values: dict = {"next": s.next}
        if kind == "wait":
            values.update(duration=s.wait.duration.ToTimedelta(), event=s.wait.event, on_event=s.wait.on_event,
                          on_timeout=s.wait.on_timeout, until_time=s.wait.until_time_of_day)
        elif kind == "branch":
            values.update(event_seen=s.branch.event_seen, on_true=s.branch.on_true, on_false=s.branch.on_false,
                          in_segment=s.branch.in_segment)
            if s.branch.HasField("attribute"):
                values.update(if_attribute=_condition_from_proto(s.branch.attribute))
        elif kind == "send":
            channel = channel_from_proto(s.send.channel)
            values.update(channel=channel.value if channel else "", template=s.send.template)
        elif kind == "update_attribute":
            values.update(attribute=s.update_attribute.attribute, value=s.update_attribute.value)
        elif kind in ("add_to_segment", "remove_from_segment"):
            values.update(segment=getattr(s, kind).segment)
        elif kind == "call_webhook":
            values.update(webhook=s.call_webhook.webhook)
        steps.append(Step(s.id, kind, **values))
    mode = _enum_name(jpb.ReentryRule.Mode, d.reentry.mode, "MODE_") or "ONCE"
    return Definition(trigger, tuple(steps), d.entry_step, d.goal_event,
                      Reentry(mode, d.reentry.period.ToTimedelta()))


def definition_to_proto(d: Definition) -> jpb.JourneyDefinition:
    out = jpb.JourneyDefinition(entry_step=d.entry_step, goal_event=d.goal_event)
    t = d.trigger
    if t.kind == "event":
        out.trigger.event.event = t.event
        for c in t.conditions:
            _condition_to_proto(c, out.trigger.event.conditions.add())
    elif t.kind in ("segment_entered", "segment_left"):
        getattr(out.trigger, t.kind).segment = t.segment
    elif t.kind == "date_attribute":
        out.trigger.date_attribute.attribute = t.attribute
        out.trigger.date_attribute.minute_of_day = t.minute_of_day
    for s in d.steps:
        step = out.steps.add(id=s.id, next=s.next)
        if s.kind == "wait":
            step.wait.event, step.wait.on_event, step.wait.on_timeout = s.event, s.on_event, s.on_timeout
            step.wait.until_time_of_day = s.until_time
            if s.duration:
                step.wait.duration.FromTimedelta(s.duration)
        elif s.kind == "branch":
            step.branch.event_seen, step.branch.on_true, step.branch.on_false = s.event_seen, s.on_true, s.on_false
            step.branch.in_segment = s.in_segment
            if s.if_attribute is not None:
                _condition_to_proto(s.if_attribute, step.branch.attribute)
        elif s.kind == "send":
            step.send.template = s.template
            if s.channel in Channel.__members__:
                step.send.channel = channel_to_proto(Channel(s.channel))
        elif s.kind == "update_attribute":
            step.update_attribute.attribute, step.update_attribute.value = s.attribute, s.value
        elif s.kind in ("add_to_segment", "remove_from_segment"):
            getattr(step, s.kind).segment = s.segment
        elif s.kind == "call_webhook":
            step.call_webhook.webhook = s.webhook
        elif s.kind == "exit":
            step.exit.SetInParent()
    out.reentry.mode = _enum_value(jpb.ReentryRule.Mode, "MODE_", d.reentry.mode)
    if d.reentry.period:
        out.reentry.period.FromTimedelta(d.reentry.period)
    return out


def journey_to_proto(j: Journey) -> jpb.Journey:
    out = jpb.Journey(name=j.name, display_name=j.display_name, state=_STATES[j.state],
                      definition=definition_to_proto(j.draft), published_version=j.published_version, etag=j.etag)
    out.create_time.FromDatetime(j.create_time)
    out.update_time.FromDatetime(j.update_time)
    return out


def figures_to_proto(name: str, f: Figures) -> jpb.JourneyStats:
    out = jpb.JourneyStats(name=name, entered=f.entered, refused=f.refused, active=f.active, goal_reached=f.goal,
                           exited=f.exited)
    for s in f.steps:
        step = out.steps.add(step=s.step, entered=s.entered, waiting=s.waiting, sent=s.sent, skipped=s.skipped)
        step.left_by_branch.update(dict(s.left_by_branch))
    return out


def explanation_to_proto(workspace: str, profile: str, entries: list[ExplainedEntry]) -> jpb.JourneyProfileExplanation:
    out = jpb.JourneyProfileExplanation(profile=f"workspaces/{workspace}/profiles/{profile}")
    for x in entries:
        item = out.entries.add(journey=f"workspaces/{workspace}/journeys/{x.journey_id}", version=x.version,
                               refused=x.entry is None, refusal_reason=x.refusal)
        item.enter_time.FromDatetime(x.time)
        if x.entry is not None:
            item.state = x.entry.state
            item.current_step = x.entry.step if x.entry.state == "ACTIVE" else ""
        for time, t in x.path:
            trail = item.path.add(kind=t.kind, step=t.step, detail=t.detail)
            trail.time.FromDatetime(time)
    return out


def _journey_name(value: str, field: str = "name") -> tuple[str, str]:
    return name_field(value, "journeys", field)


class JourneyApi:
    """CreateJourney ... ExplainJourneyProfile. Needs `self.journeys_tx` (a Transaction), `self.clock`,
    `self.new_id` and `self._run` from CampaignServicer."""

    journeys_tx = None
    journey_webhooks = None  # check_webhook(name) of GrpcJourneyIntegrations: None, webhooks are not checked
    journey_segments = None  # check_static_segment(name) of GrpcJourneyAudience: None, segments are not checked

    def _tx(self):
        if self.journeys_tx is None:
            from svc_kit.errors import Unimplemented
            raise Unimplemented("journeys are not wired in this process")
        return self.journeys_tx

    async def CreateJourney(self, request: pb.CreateJourneyRequest, context):
        workspace = parent_field(request.parent)
        if not request.HasField("journey"):
            raise InvalidArgument(FieldViolation("journey", "required"))
        journeys.validate_id(request.journey_id)
        made = await self._run(journeys.create_journey, self._tx(), workspace, request.journey_id,
                               request.journey.display_name, definition_from_proto(request.journey.definition),
                               self.clock(), self.new_id)
        return journey_to_proto(made)

    async def GetJourney(self, request: pb.GetJourneyRequest, context):
        workspace, journey_id = _journey_name(request.name)
        return journey_to_proto(await self._run(journeys.get_journey, self._tx(), workspace, journey_id))

    async def ListJourneys(self, request: pb.ListJourneysRequest, context):
        workspace = parent_field(request.parent)
        page, token = await self._run(journeys.list_journeys, self._tx(), workspace, request.page_size,
                                      request.page_token)
        return pb.ListJourneysResponse(journeys=[journey_to_proto(j) for j in page], next_page_token=token)

    async def UpdateJourney(self, request: pb.UpdateJourneyRequest, context):
        if not request.HasField("journey"):
            raise InvalidArgument(FieldViolation("journey", "required"))
        workspace, journey_id = _journey_name(request.journey.name, "journey.name")
        paths = set(request.update_mask.paths) or {"display_name", "definition"}
        unknown = paths - {"display_name", "definition", "displayName"}
        if unknown:
            raise InvalidArgument(FieldViolation("update_mask", f"cannot update {', '.join(sorted(unknown))}; "
                                                                f"display_name and definition can change"))
        name = request.journey.display_name if paths & {"display_name", "displayName"} else None
        draft = definition_from_proto(request.journey.definition) if "definition" in paths else None
        changed = await self._run(journeys.update_journey, self._tx(), workspace, journey_id, request.journey.etag,
                                  name, draft, self.clock())
        return journey_to_proto(changed)

    async def DeleteJourney(self, request: pb.DeleteJourneyRequest, context):
        workspace, journey_id = _journey_name(request.name)
        await self._run(journeys.delete_journey, self._tx(), workspace, journey_id, request.etag)
        return empty_pb2.Empty()

    async def _check_references(self, workspace: str, journey_id: str) -> None:
        """Each send step's template exists and is published (asked of the content service), each call_webhook
        step's webhook exists and takes deliveries (asked of the integrations service), each add_to_segment /
        remove_from_segment step's segment exists and is static (asked of the audience service). When a peer does not
        answer, the publish goes ahead: a missing template then shows as send_failed, a missing webhook as
        webhook_skipped on the entries' trail. The answer names every problem at once: the graph's (as the publish
        itself checks them) and the peers'."""
        content = getattr(self, "content", None)
        hooks = getattr(self, "journey_webhooks", None)
        segments = getattr(self, "journey_segments", None)
        if content is None and hooks is None and segments is None:
            return
        journey = await self._run(journeys.get_journey, self._tx(), workspace, journey_id)
        problems: list[FieldViolation] = []
        try:
            validate_for_publish(journey.draft, workspace)
        except InvalidArgument as shape:
            problems.extend(shape.violations)
        named = {p.field for p in problems}
        for i, s in enumerate(journey.draft.steps):
            if s.kind == "send" and content is not None and s.template.startswith(f"workspaces/{workspace}/templates/"):
                path, check, name = "send.template", content.variants, s.template
            elif s.kind == "call_webhook" and hooks is not None and \
                    s.webhook.startswith(f"workspaces/{workspace}/webhooks/"):
                path, check, name = "call_webhook.webhook", hooks.check_webhook, s.webhook
            elif s.kind in ("add_to_segment", "remove_from_segment") and segments is not None and \
                    s.segment.startswith(f"workspaces/{workspace}/segments/"):
                path, check, name = f"{s.kind}.segment", segments.check_static_segment, s.segment
            else:
                continue  # another workspace's: validate_for_publish names it
            if f"journey.definition.steps[{i}].{path}" in named:
                continue
            try:
                await check(name)
            except PeerRefused as why:
                problems.append(FieldViolation(f"journey.definition.steps[{i}].{path}", f"step {s.id!r}: {why}"))
            except PeerUnavailable:
                pass
        if problems:
            raise InvalidArgument(problems)

    async def PublishJourney(self, request: pb.PublishJourneyRequest, context):
        workspace, journey_id = _journey_name(request.name)
        await self._check_references(workspace, journey_id)
        return journey_to_proto(await self._run(journeys.publish_journey, self._tx(), workspace, journey_id,
                                                request.etag, self.clock()))

    async def _journey_change(self, action: str, request):
        workspace, journey_id = _journey_name(request.name)
        return journey_to_proto(await self._run(journeys.change_journey, self._tx(), workspace, journey_id, action,
                                                request.etag, self.clock()))

    async def PauseJourney(self, request, context):
        return await self._journey_change("pause", request)

    async def ResumeJourney(self, request, context):
        return await self._journey_change("resume", request)

    async def ArchiveJourney(self, request, context):
        return await self._journey_change("archive", request)

    async def GetJourneyStats(self, request: pb.GetJourneyStatsRequest, context):
        journey, slash, rest = request.name.rpartition("/")
        if not slash or rest != "stats":
            raise InvalidArgument(FieldViolation("name", "`workspaces/{workspace}/journeys/{journey}/stats`"))
        workspace, journey_id = _journey_name(journey)
        figures = await self._run(journeys.journey_figures, self._tx(), workspace, journey_id)
        return figures_to_proto(request.name, figures)

    async def ExplainJourneyProfile(self, request: pb.ExplainJourneyProfileRequest, context):
        workspace, profile = name_field(request.profile, "profiles", "profile")
        entries = await self._run(journeys.explain_profile, self._tx(), workspace, profile)
        return explanation_to_proto(workspace, profile, entries)


__all__ = ["JourneyApi", "definition_from_proto", "definition_to_proto", "journey_to_proto", "timedelta"]
