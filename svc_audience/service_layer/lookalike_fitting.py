"""The background work a lookalike owes: a fit (two streaming passes over the
workspace's profiles: sample, fit, then score every profile and write the
scores) or a re-cut (a new threshold from the stored scores).

One worker thread per process takes the lookalikes that owe work, under a
lease renewed with each progress report, so another process (or this one
after a restart) resumes what a dead worker left. A job's outcome counts
only if the lookalike still owes the same generation of work: a refit or a
change meanwhile abandons it and the next job starts over."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from svc_kit.errors import Aborted

from svc_audience.domain.lookalike import FAILED, FIT, MIN_SEED, READY, Lookalike, Progress, Quality, \
    rule_references
from svc_audience.domain.lookalike_features import FeatureSelection
from svc_audience.domain.lookalike_model import FitError, Fitting, threshold_for
from svc_audience.domain.segments import Segment
from svc_audience.service_layer.profiles import Clock
from svc_audience.service_layer.segments import segment_filter
from svc_audience.service_layer.ports import Lookalikes, Segments

log = logging.getLogger("svc_audience.lookalikes")
BATCH = 2000
LEASE_MS = 60_000
REPORT_SECONDS = 1.0
POLL_SECONDS = 5.0
SAVE_ATTEMPTS = 5


class Abandoned(Exception):
    """The job's outcome would not count: the worker stops, or the lookalike changed or went."""

    def __init__(self, gone: bool = False):
        super().__init__("abandoned")
        self.gone = gone


@dataclass(frozen=True)
class Outcome:
    state: str
    message: str = ""
    quality: Quality | None = None
    threshold: float | None = None
    size: int = 0
    fit_time: datetime | None = None
    excluded_rule: str = ""


def _ms(clock: Clock) -> int:
    return int(clock().timestamp() * 1000)


class _Tracker:
    """Progress of one job: reported (and the lease renewed) at most once per REPORT_SECONDS."""

    def __init__(self, store: Lookalikes, job: Lookalike, owner: str, stop: threading.Event, clock: Clock):
        self.store, self.job, self.owner, self.stop, self.clock = store, job, owner, stop, clock
        self.done = self.total = 0
        self.start_ms = _ms(clock)
        self.last_report = 0.0

    def start(self, total: int) -> None:
        self.total = total
        self.check()

    def advance(self, count: int) -> None:
        self.done += count
        if time.monotonic() - self.last_report >= REPORT_SECONDS:
            self.check()

    def progress(self) -> Progress:
        return Progress(min(self.done, self.total), self.total, self.start_ms, _ms(self.clock))

    def check(self) -> None:
        """Raises Abandoned when the outcome would no longer count."""
        if self.stop.is_set():
            raise Abandoned()
        self.last_report = time.monotonic()
        generation = self.store.renew(self.job.workspace, self.job.lookalike_id, self.owner, _ms(self.clock),
                                      LEASE_MS, self.progress())
        if generation != self.job.generation:
            raise Abandoned(gone=generation is None and
                            self.store.get(self.job.workspace, self.job.lookalike_id) is None)


class LookalikeWorker:
    def __init__(self, lookalikes: Lookalikes, segments: Segments, clock: Clock, upkeep=None,
                 poll_seconds: float = POLL_SECONDS):
        self.lookalikes = lookalikes
        self.segments = segments
        self.clock = clock
        self.upkeep = upkeep
        self.poll_seconds = poll_seconds
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.wake = threading.Event()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                worked = self.run_once(stop)
            except Exception:  # the loop carries on; the job is taken again when its lease ends
                log.exception("lookalike worker pass failed")
                worked = False
            if not worked:
                self.wake.wait(self.poll_seconds)
                self.wake.clear()

    def run_once(self, stop: threading.Event | None = None) -> bool:
        """Does one owed job, if any; whether there was one."""
        job = self.lookalikes.claim_next(self.owner, _ms(self.clock), LEASE_MS)
        if job is None:
            return False
        try:
            self._work(job, stop or threading.Event())
        finally:
            self.lookalikes.release(job.workspace, job.lookalike_id, self.owner)
        return True

    def _work(self, job: Lookalike, stop: threading.Event) -> None:
        tracker = _Tracker(self.lookalikes, job, self.owner, stop, self.clock)
        try:
            outcome = self._fit(job, tracker) if job.pending == FIT else self._cut(job, tracker)
            tracker.check()
        except Abandoned as why:
            if why.gone:  # deleted while it was scoring: take back what this job wrote
                self.lookalikes.remove_scores(job.workspace, job.lookalike_id)
            return
        except FitError as error:
            outcome = Outcome(FAILED, str(error))
        except Exception:  # the reason goes to the log, not to the client
            log.exception("fitting %s failed", job.name)
            outcome = Outcome(FAILED, "fitting failed unexpectedly (see the service log); refit to try again")
        if outcome.state == READY:
            self.lookalikes.set_cut(job.workspace, job.segment_id, outcome.threshold, outcome.excluded_rule)
        if self._record(job, outcome, tracker.progress()) and outcome.state == READY and self.upkeep is not None:
            self.upkeep.request(job.workspace, job.segment_id)

    def _record(self, job: Lookalike, outcome: Outcome, progress: Progress) -> bool:
        for _ in range(SAVE_ATTEMPTS):
            current = self.lookalikes.get(job.workspace, job.lookalike_id)
            if current is None or current.generation != job.generation:
                return False
            done = replace(current, state=outcome.state, state_message=outcome.message, pending="",
                           progress=replace(progress, done=progress.total), version=current.version + 1)
            if outcome.state == READY:
                done = replace(done, quality=outcome.quality, threshold=outcome.threshold, size=outcome.size,
                               fit_time=outcome.fit_time)
            try:
                self.lookalikes.save(done, current.version)
                log.info("%s: %s %s", job.name, outcome.state, outcome.message or outcome.quality)
                return True
            except Aborted:
                continue
        return False

    def _seed(self, job: Lookalike) -> tuple[Segment, set[str]]:
        seed = self.segments.get(job.workspace, job.seed_segment)
        if seed is None:
            raise FitError(f"the seed segment workspaces/{job.workspace}/segments/{job.seed_segment} no longer "
                           "exists")
        members = set(self.segments.stream(segment_filter(seed, self.clock()), "", False, 5000))
        return seed, members

    def _fit(self, job: Lookalike, tracker: _Tracker) -> Outcome:
        seed, members = self._seed(job)
        if len(members) < MIN_SEED:
            raise FitError(f"the seed segment has {len(members)} members; at least {MIN_SEED} are needed")
        now = self.clock()
        selection = FeatureSelection(frozenset(job.features), rule_references(seed.definition))
        fitting = Fitting(job.lookalike_id, job.generation, members, selection, int(now.timestamp() * 1000))
        tracker.start(2 * self.lookalikes.count_profiles(job.workspace))
        for batch in self.lookalikes.profile_batches(job.workspace, BATCH):
            fitting.sample(batch)
            tracker.advance(len(batch))
        fitting.fit()
        tracker.check()
        for batch in self.lookalikes.profile_batches(job.workspace, BATCH):
            scores = fitting.score(batch)
            self.lookalikes.write_scores(job.workspace, job.lookalike_id,
                                         [(doc["_id"], score) for doc, score in zip(batch, scores.tolist())])
            tracker.advance(len(batch))
        eligible = fitting.eligible_scores(job.include_seed_members)
        threshold = threshold_for(eligible, job.top_n, job.min_score)
        return Outcome(READY, quality=fitting.quality(), threshold=threshold, size=int((eligible >= threshold).sum()),
                       fit_time=now, excluded_rule="" if job.include_seed_members else seed.definition)

    def _cut(self, job: Lookalike, tracker: _Tracker) -> Outcome:
        seed, members = self._seed(job)
        excluded = set() if job.include_seed_members else members
        tracker.start(self.lookalikes.count_profiles(job.workspace))
        kept: list[float] = []
        for batch in self.lookalikes.score_batches(job.workspace, job.lookalike_id, 5000):
            kept.extend(score for external_id, score in batch if external_id not in excluded)
            tracker.advance(len(batch))
        eligible = np.array(kept)
        threshold = threshold_for(eligible, job.top_n, job.min_score)
        return Outcome(READY, quality=job.quality, threshold=threshold, size=int((eligible >= threshold).sum()),
                       fit_time=job.fit_time, excluded_rule="" if job.include_seed_members else seed.definition)
