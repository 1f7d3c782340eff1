"""Variant comparison: a two-proportion z-test, two-sided.

Chosen over a Bayesian probability-to-beat-control because it needs no prior,
is what most marketers read in other tools ("p < 0.05"), and is exact enough at
the sample sizes where a decision is made. For variant rate p1 = x1/n1 and
control rate p2 = x2/n2, with the pooled rate p = (x1 + x2) / (n1 + n2):

    z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)),   p-value = erfc(|z| / sqrt(2))

(the normal distribution's two tails beyond |z|). A difference is significant
at 95% when p < 0.05 AND each arm has at least MIN_SAMPLE trials: below that
the normal approximation and early peeking make "winners" that do not last.
When both arms have the same all-or-nothing rate (the pooled variance is 0) or
an arm is empty, there is no evidence of a difference: z = 0, p = 1."""

from __future__ import annotations

import math
from dataclasses import dataclass

SIGNIFICANCE_LEVEL = 0.05  # 95% confidence
MIN_SAMPLE = 100  # trials (delivered messages) per arm


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float


def two_proportion_z_test(successes: int, trials: int, control_successes: int, control_trials: int) -> ZTest:
    if trials <= 0 or control_trials <= 0:
        return ZTest(0.0, 1.0)
    rate, control_rate = successes / trials, control_successes / control_trials
    pooled = (successes + control_successes) / (trials + control_trials)
    variance = pooled * (1 - pooled) * (1 / trials + 1 / control_trials)
    if variance <= 0:
        return ZTest(0.0, 1.0)
    z = (rate - control_rate) / math.sqrt(variance)
    return ZTest(z, math.erfc(abs(z) / math.sqrt(2)))


def enough_sample(trials: int, control_trials: int, minimum: int = MIN_SAMPLE) -> bool:
    return trials >= minimum and control_trials >= minimum


def significant(test: ZTest, trials: int, control_trials: int, minimum: int = MIN_SAMPLE,
                level: float = SIGNIFICANCE_LEVEL) -> bool:
    return enough_sample(trials, control_trials, minimum) and test.p_value < level
