"""The sync worker thread: queues the runs of syncs whose schedule has come, then executes
queued runs (and runs whose worker died: their lease lapsed) one at a time; woken at once by
RunSync, otherwise polling."""

from __future__ import annotations

import logging
import threading

from svc_integrations.service_layer.syncs import SyncRunner

log = logging.getLogger("svc_integrations.sync_worker")


class SyncWorker:
    def __init__(self, runner: SyncRunner, poll_seconds: float):
        self.runner = runner
        self.poll_seconds = poll_seconds
        self.wake = threading.Event()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                self.runner.syncs.schedule_due()
                while not stop.is_set() and self.runner.run_one():
                    pass
            except Exception:  # a database outage: keep the thread, try again on the next poll
                log.exception("sync worker round failed")
            self.wake.wait(self.poll_seconds)
