"""Use cases on all the messages of one campaign at once: cancel those not yet
handed to a provider (a cancelled campaign), and hold or release them (a paused
campaign). The campaign service calls these; each is idempotent, so a call
repeated after a lost answer does no harm.

Cancel and a dispatcher sending the same message: the cancel takes only
messages no dispatcher holds under a live lease (the claim's own rule), and a
dispatcher hands a message over only well inside its lease. The cancel then
waits a little for the messages dispatchers hold to settle: sent (handed
over), or deferred, which recording finds cancelled and cancels
(dispatch/recording.py). One still held when the wait ends counts as handed over."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from svc_kit.errors import FieldViolation, InvalidArgument

from svc_notify.domain import events
from svc_notify.domain.validation import is_campaign_name
from svc_notify.service_layer.ports import Clock
from svc_notify.service_layer.repositories import MessageRepository
from svc_notify.service_layer.unit_of_work import UnitOfWork

HELD, CANCELLED = "HELD", "CANCELLED"
SETTLE_SECONDS = 5.0  # how long a cancel waits for the messages dispatchers hold (well inside a call's deadline)
SETTLE_POLL = 0.1


@dataclass(frozen=True)
class CancelledCampaign:
    cancelled: int  # the campaign's messages cancelled, by this call or before
    handed_over: int  # handed to a provider, or still held by a dispatcher when the cancel stopped waiting


def _check(workspace: str, campaign: str) -> None:
    if not is_campaign_name(campaign, workspace):
        raise InvalidArgument(FieldViolation("campaign", f"workspaces/{workspace}/campaigns/{{campaign}}"))


def cancel_waiting(messages: MessageRepository, workspace: str, campaign: str, now: datetime,
                   wait_for_senders: bool = True) -> list[events.NotifyEvent]:
    """Cancels the campaign's messages no dispatcher holds; their `message_cancelled` events."""
    cancelled = messages.cancel_campaign(workspace, campaign, now, f"cancelled with {campaign}", wait_for_senders)
    return [events.event(events.CANCELLED, m, now, reason=m.state_reason) for m in cancelled]


def cancel_campaign_messages(workspace: str, campaign: str, uow: UnitOfWork, clock: Clock,
                             settle: float = SETTLE_SECONDS,
                             sleep: Callable[[float], None] = time.sleep) -> CancelledCampaign:
    _check(workspace, campaign)
    with uow:  # first, and committed: from now on no dispatcher claims them, and one recording sees it
        uow.messages.hold_campaign(workspace, campaign, clock(), cancelled=True)
        uow.commit()
    waited = 0.0
    while True:
        now = clock()
        with uow:
            uow.record(*cancel_waiting(uow.messages, workspace, campaign, now))
            cancelled, handed_over, sending = uow.messages.campaign_counts(workspace, campaign, now)
            uow.commit()
        if not sending or waited >= settle:
            return CancelledCampaign(cancelled, handed_over + sending)
        sleep(SETTLE_POLL)
        waited += SETTLE_POLL


def hold_campaign_messages(workspace: str, campaign: str, uow: UnitOfWork, clock: Clock) -> bool:
    _check(workspace, campaign)
    with uow:
        uow.messages.hold_campaign(workspace, campaign, clock())
        uow.commit()
    return True


def release_campaign_messages(workspace: str, campaign: str, uow: UnitOfWork, clock: Clock) -> bool:
    """Whether the messages stay held (a cancelled campaign's do)."""
    _check(workspace, campaign)
    with uow:
        uow.messages.release_campaign(workspace, campaign, clock())
        held = uow.messages.campaign_hold(workspace, campaign) != ""
        uow.queued = not held  # wake the dispatcher: the released messages are due
        uow.commit()
    return held
