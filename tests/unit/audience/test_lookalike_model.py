"""The lookalike model on synthetic profiles: with a planted group it finds
held-out seed members far better than a random pick; with no structure it
does not (so the quality measure can fail). The numbers go to the run's
summary under "lookalike quality"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from svc_audience.domain.lookalike import check_fields, rule_references
from svc_audience.domain.lookalike_features import FeatureSelection, SchemaBuilder, observe
from svc_audience.domain.lookalike_model import Fitting, threshold_for

NOW = datetime(2026, 6, 1, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
SEED_RULE = json.dumps({"and": [{"attribute": "vip_club", "op": "eq", "value": True},
                                {"consent": "email", "status": "granted"}]})


def synthetic(count: int, planted: bool, seed_share: float, random_seed: int = 11) -> tuple[list[dict], set[str]]:
    """Profile documents; a tenth form a hidden group, part of which carries
    the seed rule's mark (vip_club). With `planted`, the group spends more,
    visits and buys more, prefers the pro plan and ordered recently; without,
    it looks like everyone else."""
    rng = np.random.default_rng(random_seed)
    docs, seed = [], set()
    for i in range(count):
        grouped = rng.random() < 0.1
        shifted = grouped and planted
        external_id = f"p{i:05d}"
        attributes = {
            "ltv": float(rng.normal(320 if shifted else 150, 90)),
            "visits": int(rng.poisson(14 if shifted else 6)),
            "plan": str(rng.choice(["free", "pro", "team"], p=[0.2, 0.5, 0.3] if shifted else [0.6, 0.25, 0.15])),
            "city": str(rng.choice(["Paris", "Lyon", "Lille", "Nantes"])),
            "age": int(rng.integers(18, 80)),
            "last_order": NOW - timedelta(days=float(rng.exponential(10 if shifted else 40))),
        }
        if grouped and rng.random() < seed_share:
            attributes["vip_club"] = True
            seed.add(external_id)
        elif rng.random() < 0.3:
            attributes["vip_club"] = False
        docs.append({"workspace": "acme", "external_id": external_id, "email": f"{external_id}@example.com",
                     "attributes": attributes, "consents": {"EMAIL": {"status": "GRANTED"}},
                     "behaviour": {"purchase": {"count": int(rng.poisson(5 if shifted else 1)), "last": 0,
                                                "recent": []}}})
    return docs, seed


def fitted(docs: list[dict], seed: set[str]) -> Fitting:
    fitting = Fitting("lk", 1, seed, FeatureSelection(excluded=rule_references(SEED_RULE)), NOW_MS)
    for start in range(0, len(docs), 1000):
        fitting.sample(docs[start:start + 1000])
    fitting.fit()
    for start in range(0, len(docs), 1000):
        fitting.score(docs[start:start + 1000])
    return fitting


def test_a_planted_group_is_found_far_above_the_random_baseline(lookalike_quality):
    docs, seed = synthetic(5000, planted=True, seed_share=0.4)
    quality = fitted(docs, seed).quality()
    lookalike_quality(f"planted group (5,000 profiles, seed {len(seed)}, {quality.held_out} held out): "
                      f"precision@N {quality.precision_at_n:.3f}, baseline {quality.baseline_precision:.4f} "
                      f"({quality.precision_at_n / quality.baseline_precision:.1f}x), AUC {quality.auc:.3f}")
    assert quality.seed_size == len(seed) - quality.held_out
    assert quality.precision_at_n >= 3 * quality.baseline_precision
    assert quality.auc >= 0.8


def test_without_structure_the_model_does_no_better_than_chance(lookalike_quality):
    docs, seed = synthetic(5000, planted=False, seed_share=0.9)
    quality = fitted(docs, seed).quality()
    lookalike_quality(f"no structure (5,000 profiles, seed {len(seed)}, {quality.held_out} held out): "
                      f"precision@N {quality.precision_at_n:.3f}, baseline {quality.baseline_precision:.4f}, "
                      f"AUC {quality.auc:.3f}")
    assert quality.precision_at_n < 3 * quality.baseline_precision
    assert 0.4 <= quality.auc <= 0.6


def test_scores_are_in_range_and_top_n_cuts_exactly_n_outside_the_seed():
    docs, seed = synthetic(1500, planted=True, seed_share=0.5)
    fitting = fitted(docs, seed)
    everyone = fitting.eligible_scores(include_seed_members=True)
    outside = fitting.eligible_scores(include_seed_members=False)
    assert len(everyone) == 1500 and len(outside) == 1500 - len(seed)
    assert 0 <= everyone.min() and everyone.max() <= 1
    threshold = threshold_for(outside, 40, None)
    assert (outside >= threshold).sum() == 40  # equal profiles do not tie
    assert threshold_for(outside, 10_000, None) == outside.min()
    assert threshold_for(outside, None, 0.7) == 0.7
    assert threshold_for(np.zeros(0), 5, None) > 1  # nobody


def test_the_seed_rule_s_attributes_and_consents_are_left_out_unless_named():
    doc = synthetic(1, planted=True, seed_share=1.0, random_seed=3)[0][0]
    doc["attributes"]["vip_club"] = True
    default = observe(doc, FeatureSelection(excluded=rule_references(SEED_RULE)), NOW_MS)
    assert "a:vip_club" not in default.numbers and "a:ltv" in default.numbers and "e:purchase" in default.numbers
    assert default.flags == 1  # has an email; the email consent is the rule's
    named = observe(doc, FeatureSelection(only=frozenset({"vip_club", "consents.email"})), NOW_MS)
    assert named.numbers == {"a:vip_club": 1.0} and named.buckets == [] and named.flags == 1 << 3
    schema = SchemaBuilder()
    schema.add(default)
    matrix = schema.build().matrix([default, observe({"external_id": "x"}, FeatureSelection(), NOW_MS)])
    assert matrix.dtype == np.float32 and matrix.shape[1] == schema.build().width
    assert np.isnan(matrix[1, 0]) and matrix[1, len(schema.build().attributes)] == 0  # missing, indicator 0


@pytest.mark.parametrize(("top_n", "min_score", "field"), [(None, None, "lookalike.cutoff"),
                                                            (5, 0.5, "lookalike.cutoff")])
def test_exactly_one_valid_cutoff_is_required(top_n, min_score, field):
    problems = check_fields("Like buyers", "", top_n, min_score, (), {})
    assert [p.field for p in problems] == [field]


def test_bad_features_and_labels_are_named():
    problems = check_fields("", "", 10, None, ("ltv", "no spaces", "ltv"), {})
    assert {p.field for p in problems} == {"lookalike.display_name", "lookalike.features[1]", "lookalike.features"}


@pytest.mark.parametrize(("lookalike", "field"), [
    (dict(top_n=0), "lookalike.top_n"),
    (dict(top_n=100_000_001), "lookalike.top_n"),
    (dict(min_score=1.5), "lookalike.min_score"),
    (dict(min_score=float("nan")), "lookalike.min_score"),
    (dict(display_name="x" * 201), "lookalike.display_name"),
    (dict(description="x" * 5001), "lookalike.description"),
    (dict(features=["ltv"] * 201), "lookalike.features"),
    (dict(labels={"Bad": "x"}), "lookalike.labels['Bad']"),
    (dict(labels={"ok": "x" * 64}), "lookalike.labels['ok']"),
])
def test_one_field_rules_are_in_the_proto(lookalike, field):
    from marketing.audience.v1 import audience_service_pb2, segment_pb2
    from svc_kit.validation import violations_of

    request = audience_service_pb2.CreateLookalikeRequest(lookalike=segment_pb2.Lookalike(**lookalike))
    assert [v.field for v in violations_of(request)] == [field]
    assert violations_of(audience_service_pb2.CreateLookalikeRequest(lookalike=segment_pb2.Lookalike(
        top_n=100_000_000, display_name="x" * 200, labels={"ok": "x" * 63}))) == []
