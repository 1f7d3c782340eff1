"""Fitting a lookalike model, measuring it, and cutting the audience.

Positive-unlabeled learning: seed members are the positives, the other
profiles are unlabeled (some of them resemble the seed: those are the ones to
find). The unlabeled profiles fall into two folds by a hash of their id; the
model for fold f is fitted on the seed's training part and fold f's sample,
and scores the profiles of the other fold, so no unlabeled profile is scored
by a model that saw it. A held-out share of the seed is scored like any
other profile: the quality is how high those come among all candidates."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from svc_audience.domain.lookalike import NOBODY, Quality
from svc_audience.domain.lookalike_features import FeatureSchema, FeatureSelection, Observation, SchemaBuilder, \
    observe

HELD_OUT_SHARE = 0.2
FOLDS = 2
SEED_SAMPLE = 20_000  # seed members fitted on, at most
UNLABELED_SAMPLE = 15_000  # other profiles per fold, at most


class FitError(Exception):
    """The seed or the workspace does not allow a fit; the message says why, for people."""


def salt_of(lookalike_id: str, generation: int) -> int:
    return zlib.crc32(f"{lookalike_id}/{generation}".encode())


def fold_of(external_id: str, salt: int) -> int:
    return zlib.crc32(external_id.encode(), salt) % FOLDS


def held_out_members(seed_ids: Sequence[str], salt: int) -> frozenset[str]:
    """A fixed share of the seed (at least one member), left out of fitting to measure quality."""
    ordered = sorted(seed_ids)
    count = max(1, round(HELD_OUT_SHARE * len(ordered)))
    picked = np.random.default_rng(salt).choice(len(ordered), size=count, replace=False)
    return frozenset(ordered[i] for i in picked)


class Reservoir:
    """A uniform sample of at most `capacity` of the items offered (algorithm R)."""

    def __init__(self, capacity: int, rng: np.random.Generator):
        self.capacity = capacity
        self.rng = rng
        self.items: list[Any] = []
        self.seen = 0

    def offer(self, item: Any) -> None:
        self.seen += 1
        if len(self.items) < self.capacity:
            self.items.append(item)
        elif (slot := int(self.rng.integers(self.seen))) < self.capacity:
            self.items[slot] = item


def _classifier(positives: int, random_state: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=max(5, min(20, positives // 10)),
        l2_regularization=1.0, class_weight="balanced", early_stopping=False, random_state=random_state)


@dataclass
class LookalikeModel:
    schema: FeatureSchema
    models: list[HistGradientBoostingClassifier]  # models[f] was fitted on fold f's unlabeled profiles
    salt: int

    def score(self, observations: Sequence[Observation], external_ids: Sequence[str]) -> np.ndarray:
        """Scores in [0, 1], rounded to 9 decimals (what the database keeps
        exactly), with a tiny per-profile offset so equal profiles do not tie."""
        features = self.schema.matrix(observations)
        folds = np.fromiter((fold_of(i, self.salt) for i in external_ids), dtype=np.int8, count=len(external_ids))
        scores = np.zeros(len(external_ids))
        with threadpool_limits(1):  # one core: the service serves calls beside it
            for fold, model in enumerate(self.models):
                rows = folds == (fold + 1) % FOLDS  # a profile is scored by the model that did not see its fold
                if rows.any():
                    scores[rows] = model.predict_proba(features[rows])[:, 1]
        offsets = np.fromiter((zlib.crc32(i.encode()) % 1000 for i in external_ids), dtype=np.float64,
                              count=len(external_ids)) * 1e-9
        return np.round(scores * (1 - 1e-6) + offsets, 9)


def fit(schema: FeatureSchema, seed: Sequence[Observation], unlabeled: Sequence[Sequence[Observation]],
        salt: int) -> LookalikeModel:
    """`unlabeled[f]`: the sample of non-seed profiles of fold f."""
    if len(seed) < 2:
        raise FitError(f"only {len(seed)} seed members are left to fit on")
    if any(len(u) < 2 for u in unlabeled):
        raise FitError("too few profiles outside the seed to compare it with")
    positives = schema.matrix(seed)
    models = []
    for fold, sample in enumerate(unlabeled):
        negatives = schema.matrix(sample)
        features = np.vstack([positives, negatives])
        labels = np.concatenate([np.ones(len(positives), dtype=np.int8), np.zeros(len(negatives), dtype=np.int8)])
        with threadpool_limits(1):
            models.append(_classifier(len(positives), salt % (2**31) + fold).fit(features, labels))
    return LookalikeModel(schema, models, salt)


def measure(scores: np.ndarray, held_out: np.ndarray, candidates: np.ndarray, seed_size: int) -> Quality:
    """Quality over the candidates (`candidates` marks every profile outside
    the seed, `held_out` the held-out seed members; both are scored by a model
    that never saw them): precision@N with N = the held-out count."""
    pool = held_out | candidates
    truth, ranked = held_out[pool], scores[pool]
    n = int(truth.sum())
    if n == 0 or n == len(truth):
        return Quality(0.0, 0.0, 0.5, seed_size, n)
    top = np.argsort(-ranked, kind="stable")[:n]
    return Quality(precision_at_n=float(truth[top].mean()), baseline_precision=n / len(truth),
                   auc=float(roc_auc_score(truth, ranked)), seed_size=seed_size, held_out=n)


def threshold_for(eligible_scores: np.ndarray, top_n: int | None, min_score: float | None) -> float:
    """The lowest score in the audience: the N-th best of the eligible scores,
    or min_score (NOBODY when there is no one to take)."""
    if min_score is not None:
        return float(min_score)
    if top_n is None or len(eligible_scores) == 0:
        return NOBODY
    n = min(top_n, len(eligible_scores))
    return float(np.partition(eligible_scores, len(eligible_scores) - n)[len(eligible_scores) - n])


class Fitting:
    """One fit, fed the workspace's profile documents twice: every batch to
    `sample` (schema and training samples), then `fit`, then every batch to
    `score` (which also gathers what quality and the cutoff need)."""

    def __init__(self, lookalike_id: str, generation: int, seed_ids: set[str], selection: FeatureSelection,
                 now_ms: int):
        self.salt = salt_of(lookalike_id, generation)
        self.seed_ids = seed_ids
        self.held_out = held_out_members(list(seed_ids), self.salt) if seed_ids else frozenset()
        self.selection = selection
        self.now_ms = now_ms
        rng = np.random.default_rng(self.salt)
        self.seed_sample = Reservoir(SEED_SAMPLE, rng)
        self.unlabeled = [Reservoir(UNLABELED_SAMPLE, rng) for _ in range(FOLDS)]
        self.schema = SchemaBuilder()
        self.model: LookalikeModel | None = None
        self._scores: list[np.ndarray] = []
        self._held_out: list[np.ndarray] = []
        self._outside_seed: list[np.ndarray] = []

    def sample(self, docs: Sequence[dict]) -> None:
        for doc in docs:
            external_id = doc["external_id"]
            observation = observe(doc, self.selection, self.now_ms)
            self.schema.add(observation)
            if external_id not in self.seed_ids:
                self.unlabeled[fold_of(external_id, self.salt)].offer(observation)
            elif external_id not in self.held_out:
                self.seed_sample.offer(observation)

    def fit(self) -> None:
        self.model = fit(self.schema.build(), self.seed_sample.items, [r.items for r in self.unlabeled], self.salt)

    def score(self, docs: Sequence[dict]) -> np.ndarray:
        assert self.model is not None, "fit first"
        ids = [d["external_id"] for d in docs]
        scores = self.model.score([observe(d, self.selection, self.now_ms) for d in docs], ids)
        self._scores.append(scores)
        self._held_out.append(np.fromiter((i in self.held_out for i in ids), dtype=bool, count=len(ids)))
        self._outside_seed.append(np.fromiter((i not in self.seed_ids for i in ids), dtype=bool, count=len(ids)))
        return scores

    def _gathered(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self._scores:
            return np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
        return np.concatenate(self._scores), np.concatenate(self._held_out), np.concatenate(self._outside_seed)

    def quality(self) -> Quality:
        scores, held_out, outside_seed = self._gathered()
        return measure(scores, held_out, outside_seed, len(self.seed_sample.items))

    def eligible_scores(self, include_seed_members: bool) -> np.ndarray:
        scores, _, outside_seed = self._gathered()
        return scores if include_seed_members else scores[outside_seed]
