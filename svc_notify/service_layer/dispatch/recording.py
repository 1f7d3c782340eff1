"""Recording outcomes: small transactions, only for the messages whose lease
this pass still holds, with their deliveries, inbox items and events (outbox)
in the same transaction. A message deferred while its campaign was cancelled
is cancelled in that transaction (campaign_messages). A failing database is retried for a while: what was
handed to a provider and not recorded would go out again once its lease expires."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from svc_kit.channels import Channel

from svc_notify.domain.model import WAITING, Message, State
from svc_notify.service_layer.campaign_messages import CANCELLED, cancel_waiting
from svc_notify.service_layer.dispatch.work import Settled
from svc_notify.service_layer.ports import DeliverySignals, NoSignals
from svc_notify.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("svc_notify.dispatcher")
RECORD_RETRIES = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, None)  # pauses between attempts to record outcomes
# A settled message's outcome as the delivery signals name it (by the state the pass left it in).
OUTCOMES = {State.SENT: "sent", State.DELIVERED: "sent", State.DEFERRED: "deferred", State.QUEUED: "deferred",
            State.FAILED: "failed", State.BOUNCED: "bounced", State.SUPPRESSED: "suppressed",
            State.CANCELLED: "cancelled"}


def handoff_seconds(message: Message) -> float | None:
    """From the message's acceptance, or the end of its latest hold on purpose (its requested send
    time, quiet hours, a frequency cap, a paused campaign) when later, to its hand-over."""
    if message.state not in (State.SENT, State.DELIVERED) or message.sent_time is None:
        return None
    start = max((t for t in (message.create_time, message.send_time, message.held_until) if t is not None),
                default=None)
    return None if start is None else max(0.0, (message.sent_time - start).total_seconds())


class Recorder:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime],
                 signals: DeliverySignals | None = None):
        self.uow = uow_factory
        self.clock = clock
        self.signals = signals or NoSignals()

    async def record(self, token: str, outcomes: list[Settled]) -> None:
        """Records the outcomes and empties the list."""
        if not outcomes:
            return
        batch = list(outcomes)
        outcomes.clear()
        for delay in RECORD_RETRIES:
            try:
                kept = await asyncio.to_thread(self._write, token, batch)
            except Exception:  # noqa: BLE001 - retried, then left to the lease
                if delay is None:
                    raise
                log.exception("recording %d outcomes failed; retrying in %.1f s", len(batch), delay)
                await asyncio.sleep(delay)
                continue
            self._signal(kept)
            return

    def _signal(self, kept: list[Settled]) -> None:
        for o in kept:
            message = o.message
            outcome = OUTCOMES.get(message.state)
            if outcome is None:
                continue
            provider = o.provider or ("inbox" if message.channel is Channel.IN_APP else "none")
            try:
                self.signals.settled(message.channel.value.lower(), provider, outcome, handoff_seconds(message))
            except Exception:  # noqa: BLE001 - a signal must never fail a dispatcher pass
                log.exception("reporting a delivery outcome failed")

    def _write(self, token: str, outcomes: list[Settled]) -> list[Settled]:
        with self.uow() as uow:
            held: set[tuple[str, str]] = set()
            by_workspace: dict[str, list[str]] = {}
            for o in outcomes:
                by_workspace.setdefault(o.message.workspace, []).append(o.message.id)
            for workspace, ids in by_workspace.items():
                held |= {(workspace, i) for i in uow.messages.holding(workspace, ids, token)}
            kept = [o for o in outcomes if (o.message.workspace, o.message.id) in held]
            if len(kept) < len(outcomes):
                lost = [o.message.name for o in outcomes if (o.message.workspace, o.message.id) not in held]
                log.warning("lease lost before recording %d outcomes (another dispatcher took them over): %s",
                            len(lost), ", ".join(lost[:5]))
            uow.messages.finish([o.message for o in kept], token)
            uow.deliveries.add([d for o in kept for d in o.deliveries])
            uow.inbox.add([i for o in kept for i in o.inbox])
            uow.record(*(e for o in kept for e in o.events))
            for workspace, campaign in {(o.message.workspace, o.message.campaign) for o in kept
                                        if o.message.campaign and o.message.state in WAITING}:
                if uow.messages.campaign_hold(workspace, campaign) == CANCELLED:
                    uow.record(*cancel_waiting(uow.messages, workspace, campaign, self.clock(),
                                                wait_for_senders=False))
            if any(o.message.state is State.DEFERRED for o in kept):
                uow.queued = True
            uow.commit()
        return kept
