"""A background thread that makes one pass every poll interval, or sooner when
woken (`wake.set()`); a pass that fails (the database away) is logged and tried
again after a short pause."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from svc_campaign.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("svc_campaign.polling")
FAILED_PASS_PAUSE = 1.0


class PollingLoop:
    name = "pass"

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime], poll_seconds: float):
        self.uow_factory = uow_factory
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.wake = threading.Event()

    def run_pass(self) -> None:
        raise NotImplementedError

    def seconds_to_next_pass(self) -> float:
        return self.poll_seconds

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                self.run_pass()
                wait = self.seconds_to_next_pass()
            except Exception:  # noqa: BLE001 - a failed pass (database away) is tried again
                log.exception("%s failed; retrying", self.name)
                wait = FAILED_PASS_PAUSE
            if wait > 0:
                self.wake.wait(wait)
