"""The upkeep's thread: every poll interval, completes the campaigns that are
done and pauses or resumes them on their budget (service_layer/upkeep.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from svc_campaign.service_layer import upkeep
from svc_campaign.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("svc_campaign.upkeep")


class Upkeep:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime], poll_seconds: float):
        self.uow_factory = uow_factory
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.wake = threading.Event()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                upkeep.run_pass(self.uow_factory, self.clock)
            except Exception:  # noqa: BLE001 - a failed pass (database away) is tried again
                log.exception("upkeep pass failed; retrying")
            self.wake.wait(self.poll_seconds)
