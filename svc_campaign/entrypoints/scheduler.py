"""The scheduler's thread: starts due campaigns, then sleeps until the next
start time or the poll interval, whichever comes first. A commit in this
process (a campaign scheduled or rescheduled) wakes it early; changes made by
another replica are seen at the next poll."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from svc_campaign.service_layer import scheduler
from svc_campaign.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("svc_campaign.scheduler")
FAILED_PASS_PAUSE = 1.0


class Scheduler:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime], poll_seconds: float):
        self.uow_factory = uow_factory
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.wake = threading.Event()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                scheduler.run_pass(self.uow_factory, self.clock)
                wait = self.seconds_to_next_due()
            except Exception:  # noqa: BLE001 - a failed pass (database away) is tried again
                log.exception("scheduler pass failed; retrying")
                wait = FAILED_PASS_PAUSE
            if wait > 0:
                self.wake.wait(wait)

    def seconds_to_next_due(self) -> float:
        due = scheduler.next_due_time(self.uow_factory())
        if due is None:
            return self.poll_seconds
        return max(0.0, min(self.poll_seconds, (due - self.clock()).total_seconds()))
