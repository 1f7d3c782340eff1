"""The scheduler's thread: starts due campaigns, then sleeps until the next
start time or the poll interval, whichever comes first. A commit in this
process (a campaign scheduled or rescheduled) wakes it early; changes made by
another replica are seen at the next poll."""

from __future__ import annotations

from svc_campaign.entrypoints.polling import PollingLoop
from svc_campaign.service_layer import scheduler
from svc_campaign.service_layer.ports import SchedulerSignals


class Scheduler(PollingLoop):
    name = "scheduler pass"
    signals: SchedulerSignals | None = None  # where each start is reported (bootstrap: adapters.metrics)

    def run_pass(self) -> None:
        scheduler.run_pass(self.uow_factory, self.clock, signals=self.signals)

    def seconds_to_next_pass(self) -> float:
        due = scheduler.next_due_time(self.uow_factory())
        if due is None:
            return self.poll_seconds
        return max(0.0, min(self.poll_seconds, (due - self.clock()).total_seconds()))
