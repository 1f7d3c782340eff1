"""The upkeep's thread: every poll interval, completes the campaigns that are
done and pauses or resumes them on their budget (service_layer/upkeep.py)."""

from __future__ import annotations

from svc_campaign.entrypoints.polling import PollingLoop
from svc_campaign.service_layer import upkeep


class Upkeep(PollingLoop):
    name = "upkeep pass"

    def run_pass(self) -> None:
        upkeep.run_pass(self.uow_factory, self.clock)
