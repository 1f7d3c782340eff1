"""Fault injection into the launch saga, FOR TESTS ONLY.

Off unless the campaign service runs with MKT_CAMPAIGN_FAULT_INJECTION=true
(bootstrap then gives the launch runner a SagaFaults; otherwise it has none and
nothing here runs). When on, a campaign labelled `mkt-fault-at` makes one step
of its launch fail for good (PeerRefused) at one point, after the steps before it
really ran against the audience, content and notify services, so that the
compensations can be watched end to end. The label's value is `<step>` or
`<step>.<n>`, the step in lower case:

- `freeze_snapshot[.n]`, `preflight_render[.n]`: at the n-th target (default 1);
- `schedule_deliveries[.n]`: at the n-th page of the launch (default 1), pages
  1..n-1 handed to notify for real (pages are counted from the members each target
  handed over, so this counts true pages only without an A/B test);
- `decide_ab_test`, `init_tracking`: at that step.

A value that names no step is ignored (and logged). The domain knows nothing of
this: the runner asks SagaFaults before it calls the peer of a step."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from svc_campaign.domain.launch import Launch, Step
from svc_campaign.service_layer.ports import CampaignLabels, PeerRefused

log = logging.getLogger("svc_campaign.launch")
LABEL = "mkt-fault-at"
INJECTABLE = (Step.FREEZE_SNAPSHOT, Step.PREFLIGHT_RENDER, Step.SCHEDULE_DELIVERIES, Step.DECIDE_AB_TEST,
              Step.INIT_TRACKING)


@dataclass(frozen=True)
class Fault:
    step: Step
    nth: int = 1  # the target (freeze, preflight) or the page of the launch (schedule deliveries), from 1

    @classmethod
    def parse(cls, value: str) -> Fault | None:
        """The fault a label value asks for; None when it names none."""
        name, _, nth = value.strip().partition(".")
        step = next((s for s in INJECTABLE if s.value == name.upper()), None)
        if step is None or (nth and (not nth.isdigit() or int(nth) < 1)):
            return None
        return cls(step, int(nth) if nth else 1)


def pages_before(launch: Launch, index: int, page_size: int) -> int:
    """Pages the launch has handed over before the next page of target `index`: each target's full pages and
    its last, partial one (targets are handed over in order, every page but a target's last full)."""
    done = sum(math.ceil((t.sent + t.duplicates + t.refused) / page_size) for t in launch.targets[:index])
    current = launch.targets[index]
    return done + (current.sent + current.duplicates + current.refused) // page_size


class SagaFaults:
    def __init__(self, labels: CampaignLabels, page_size: int):
        self.labels = labels
        self.page_size = page_size

    def check(self, launch: Launch, step: Step, index: int | None) -> None:
        """Raises PeerRefused when the campaign's label asks `step` (of target `index`) to fail here."""
        value = self.labels.label(launch.workspace, launch.campaign_id, LABEL)
        if not value:
            return
        fault = Fault.parse(value)
        if fault is None:
            log.warning("launch of %s: label %s=%r names no saga step; ignored", launch.name, LABEL, value)
            return
        if fault.step is not step:
            return
        if step in (Step.FREEZE_SNAPSHOT, Step.PREFLIGHT_RENDER):
            hit, where = index is not None and index + 1 == fault.nth, f"target {fault.nth}"
        elif step is Step.SCHEDULE_DELIVERIES:
            page = pages_before(launch, index, self.page_size) + 1
            hit, where = page >= fault.nth, f"page {page}"
        else:
            hit, where = True, "the launch"
        if hit:
            log.warning("launch of %s: injected fault at %s (%s)", launch.name, step.value, where)
            raise PeerRefused(f"injected fault ({LABEL}={value}, MKT_CAMPAIGN_FAULT_INJECTION=true): "
                              f"{step.value.lower()} of {where} refused")
