"""Who may be sent to now: a message waits for its requested send time; the
audience service says whether its recipient exists and may be reached on the
channel for the message's category (not reachable: SUPPRESSED with the reason);
marketing messages keep quiet hours in the recipient's time zone and frequency
caps across campaigns, which defer a message to its next allowed time, never
drop it. A failed call to the audience service defers the messages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from svc_kit.channels import Channel

from svc_notify.domain import events
from svc_notify.domain.model import Category, Message
from svc_notify.domain.pacing import next_allowed
from svc_notify.domain.settings import NotifySettings
from svc_notify.service_layer.dispatch.work import DispatchConfig, Settled, Work, addresses, deferred
from svc_notify.service_layer.ports import Audience, Reach, Recipient, Unavailable
from svc_notify.service_layer.unit_of_work import UnitOfWork

Group = tuple[Channel, Category]


def _unreachable(message: Message, recipient: Recipient | None, verdict: Reach | None, now: datetime) -> Settled:
    reason = "NOT_FOUND" if recipient is None else (verdict.reason if verdict else "NOT_FOUND")
    text = {"NOT_FOUND": f"no profile {message.recipient_name}",
            "NO_ADDRESS": f"the profile has no address for CHANNEL_{message.channel.value}",
            "NO_CONSENT": f"no consent for marketing on CHANNEL_{message.channel.value}",
            "SUPPRESSED": f"suppressed by {verdict.suppression if verdict else ''}"}.get(reason, reason)
    message.suppress(f"{reason}: {text}", now)
    return Settled(message, events=[events.event(events.SUPPRESSED, message, now, reason=reason,
                                                 suppression=verdict.suppression if verdict else "")])


class Pacer:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], audience: Audience, config: DispatchConfig,
                 clock: Callable[[], datetime]):
        self.uow = uow_factory
        self.audience = audience
        self.config = config
        self.clock = clock

    async def admit(self, workspace: str, batch: list[Message], rules: NotifySettings,
                    done: list[Settled]) -> list[Work]:
        """Reachability and pacing; returns the messages that may go now (the others go to `done`)."""
        now = self.clock()
        waiting: list[Message] = []
        for message in batch:
            if message.send_time is not None and message.send_time > now:
                message.defer(message.send_time, f"requested send time {message.send_time.isoformat()}", now,
                              planned=True)
                done.append(Settled(message))
            else:
                waiting.append(message)
        if not waiting:
            return []
        try:
            recipients, reach = await self._reach(workspace, waiting)
        except Unavailable as error:
            done += [deferred(m, self.clock(), self.config.dependency_retry,
                              f"waiting for the audience service ({error.code}): {error.detail}; retrying")
                     for m in waiting]
            return []
        marketing = [m for m in waiting if m.category is Category.MARKETING]
        history: dict[str, list] = {}
        if rules.frequency_caps and marketing:
            longest = max(c.period for c in rules.frequency_caps)
            history = await asyncio.to_thread(self._history, workspace, [m.recipient for m in marketing],
                                              now - longest)
        ready = []
        for message in waiting:
            now = self.clock()
            recipient = recipients.get(message.recipient)
            verdict = reach.get((message.channel, message.category), {}).get(message.recipient)
            if recipient is None or verdict is None or not verdict.reachable:
                done.append(_unreachable(message, recipient, verdict, now))
                continue
            if not addresses(recipient, message.channel):
                message.suppress(f"NO_ADDRESS: the profile has no address for CHANNEL_{message.channel.value}", now)
                done.append(Settled(message, events=[events.event(events.SUPPRESSED, message, now,
                                                                  reason="NO_ADDRESS")]))
                continue
            if message.category is Category.MARKETING and (rules.quiet_hours or rules.frequency_caps):
                sends = history.setdefault(message.recipient, [])
                later = next_allowed(now, rules.zone_for(recipient.time_zone), rules.quiet_hours,
                                     rules.frequency_caps, sends, message.channel)
                if later is not None:
                    at, reason = later
                    message.defer(at, reason, now, planned=True)
                    done.append(Settled(message))
                    continue
                sends.append((now, message.channel))  # counts for the recipient's next message in this pass
            ready.append(Work(message, recipient, message.content))
        return ready

    async def _reach(self, workspace: str,
                     waiting: list[Message]) -> tuple[dict[str, Recipient], dict[Group, dict[str, Reach]]]:
        recipients = await self.audience.recipients(workspace, [m.recipient for m in waiting])
        groups: dict[Group, list[Message]] = {}
        for message in waiting:
            groups.setdefault((message.channel, message.category), []).append(message)
        reach: dict[Group, dict[str, Reach]] = {}
        for (channel, category), members in groups.items():
            reach[(channel, category)] = await self.audience.reachability(
                workspace, channel, category, [m.recipient for m in members if m.recipient in recipients])
        return recipients, reach

    def _history(self, workspace: str, recipients: list[str], since: datetime) -> dict[str, list]:
        with self.uow() as uow:
            return uow.messages.sends_since(workspace, recipients, since)
