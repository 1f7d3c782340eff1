"""The launch saga's fault injection (for tests only, MKT_CAMPAIGN_FAULT_INJECTION): a campaign's
`mkt-fault-at` label fails the step it names for good, at that point, after the earlier steps really
called the (fake) peers; the compensations then run as for a real refusal. Without the label, or with a
value that names no step, the launch runs as usual."""

from __future__ import annotations

from dataclasses import replace

import pytest

from svc_campaign.domain.launch import LaunchState, Step, StepOutcome, TargetState
from svc_campaign.service_layer.faults import LABEL, Fault, SagaFaults, pages_before
from svc_campaign.service_layer.launch import LaunchRunner
from tests.unit.campaign.test_launch import Clock, FakeStore, run, saga
from tests.unit.campaign.test_launch_ab_test import FakeFigures, VariantContent, ab_launch


class Labels:
    def __init__(self, values: dict[str, str]):
        self.values = values  # campaign id -> the label's value
        self.asked: list[tuple[str, str, str]] = []

    def label(self, workspace, campaign_id, key):
        self.asked.append((workspace, campaign_id, key))
        return self.values.get(campaign_id, "")


def faulty(campaign_id: str, value: str | None):
    clock, store, audience, notify, content, _ = saga(campaign_id)
    labels = Labels({campaign_id: value} if value is not None else {})
    runner = LaunchRunner(store, audience, notify, clock, content, page_size=100,
                          faults=SagaFaults(labels, page_size=100))
    return clock, store, audience, notify, content, runner, labels


@pytest.mark.parametrize("value, fault", [
    ("freeze_snapshot", Fault(Step.FREEZE_SNAPSHOT, 1)), ("freeze_snapshot.2", Fault(Step.FREEZE_SNAPSHOT, 2)),
    ("PREFLIGHT_RENDER.1", Fault(Step.PREFLIGHT_RENDER, 1)),
    ("schedule_deliveries.3", Fault(Step.SCHEDULE_DELIVERIES, 3)),
    ("init_tracking", Fault(Step.INIT_TRACKING, 1)), ("decide_ab_test", Fault(Step.DECIDE_AB_TEST, 1)),
    ("release_snapshot", None), ("cancel_messages", None), ("nothing", None), ("freeze_snapshot.0", None),
    ("freeze_snapshot.x", None), ("", None)])
def test_label_values_name_a_step_and_its_occurrence(value, fault):
    assert Fault.parse(value) == fault


# label -> the failed step and target, (snapshots taken, renders, messages handed over) before it, compensations
CASES = {
    "freeze_snapshot": (Step.FREEZE_SNAPSHOT, 0, (0, 0, 0), []),
    "freeze_snapshot.2": (Step.FREEZE_SNAPSHOT, 1, (1, 0, 0), [Step.RELEASE_SNAPSHOT]),
    "preflight_render": (Step.PREFLIGHT_RENDER, 0, (2, 0, 0), [Step.RELEASE_SNAPSHOT]),
    "preflight_render.2": (Step.PREFLIGHT_RENDER, 1, (2, 1, 0), [Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT]),
    "schedule_deliveries": (Step.SCHEDULE_DELIVERIES, 0, (2, 2, 0), [Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT]),
    # pages of 100: the first target's are 100, 100 and 50, so page 3 is its last and page 4 the second's first
    "schedule_deliveries.3": (Step.SCHEDULE_DELIVERIES, 0, (2, 2, 200), [Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT]),
    "schedule_deliveries.4": (Step.SCHEDULE_DELIVERIES, 1, (2, 2, 250), [Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT]),
    "init_tracking": (Step.INIT_TRACKING, None, (2, 2, 500), [Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT]),
}


@pytest.mark.parametrize("value", list(CASES))
def test_the_labelled_step_fails_for_good_after_the_earlier_steps_ran_and_is_compensated(value):
    clock, store, audience, notify, content, runner, labels = faulty(f"c-{value}", value)
    snapshots_taken = []
    real_snapshot = audience.snapshot

    async def counted_snapshot(*args):
        taken = await real_snapshot(*args)
        snapshots_taken.append(taken.name)
        return taken

    audience.snapshot = counted_snapshot
    run(runner, store, clock)
    launch = store.launch
    step, index, (snapshots, renders, handed), undone = CASES[value]
    assert launch.state is LaunchState.FAILED and launch.failed_step is step
    assert f"{LABEL}={value}" in launch.failure_reason and "MKT_CAMPAIGN_FAULT_INJECTION" in launch.failure_reason
    assert (len(snapshots_taken), len(content.rendered), len(notify.sent)) == (snapshots, renders, handed)
    if index is not None:
        assert launch.targets[index].state is TargetState.FAILED
    (failed,) = [r for r in launch.steps if r.outcome is StepOutcome.FAILED]
    assert (failed.step, failed.target) == (step, index)
    after = launch.steps[launch.steps.index(failed) + 1:]
    assert [(r.step, r.outcome) for r in after] == [(u, StepOutcome.DONE) for u in undone]
    assert notify.queued() == [] and audience.snapshots == {}  # nothing left queued, no snapshot frozen
    assert set(labels.asked) == {("acme", f"c-{value}", LABEL)}


@pytest.mark.parametrize("value", [None, "nothing", "freeze_snapshot.3", "schedule_deliveries.9"])
def test_without_a_fault_that_applies_the_launch_runs_as_usual(value):
    clock, store, audience, notify, content, runner, _ = faulty("calm", value)
    run(runner, store, clock)
    assert store.launch.state is LaunchState.COMPLETED and len(notify.sent) == 500
    assert store.launch.failed_step is None


def test_pages_before_counts_each_targets_full_pages_and_its_last_partial_one():
    launch = saga("pages")[1].launch
    assert pages_before(launch, 0, 100) == 0
    launch.targets[0] = replace(launch.targets[0], sent=150, duplicates=50)  # two full pages
    assert pages_before(launch, 0, 100) == 2
    launch.targets[0] = replace(launch.targets[0], sent=200, duplicates=50, refused=0)  # and a last one of 50
    assert pages_before(launch, 1, 100) == 3
    launch.targets[1] = replace(launch.targets[1], sent=100, refused=100)
    assert pages_before(launch, 1, 100) == 5


def test_an_ab_test_fails_at_its_decision_after_the_test_share_went_out():
    clock = Clock()
    launch, audience, notify = ab_launch("ab")
    store = FakeStore(launch)
    runner = LaunchRunner(store, audience, notify, clock, VariantContent(), page_size=300,
                          figures=FakeFigures(notify, {}), faults=SagaFaults(Labels({"ab": "decide_ab_test"}), 300))
    run(runner, store, clock)
    failed = store.launch
    assert failed.state is LaunchState.FAILED and failed.failed_step is Step.DECIDE_AB_TEST
    assert 120 < len(notify.sent) < 280  # the test share was handed over; the rest never was
    assert notify.queued() == [] and audience.snapshots == {}
    assert [r.step for r in failed.steps][-3:] == [Step.DECIDE_AB_TEST, Step.CANCEL_MESSAGES, Step.RELEASE_SNAPSHOT]
