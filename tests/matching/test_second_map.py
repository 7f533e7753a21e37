"""Fitting the second opinion's map (second_map.fit_map): standardised, folded back to raw features."""
from __future__ import annotations

import numpy as np
import pytest

from bot.matching.second_map import fit_map


def _samples(seed: int = 3, n: int = 400):
    """A log-odds-like feature over +-10 and a cosine-like one over 0-1, both telling, and
    a constant one: right answers are those with high values of both."""
    rng = np.random.default_rng(seed)
    logit = rng.uniform(-10, 10, n)
    cosine = rng.uniform(0, 1, n)
    z = 0.15 * logit + 4.0 * (cosine - 0.5) + rng.normal(0, 0.7, n)
    right = z > 0
    x = np.column_stack([logit, cosine, np.full(n, 2.0)])
    weights = np.where(rng.uniform(size=n) < 0.3, 3.0, 1.0)
    return x, right, weights


def _p(coef, intercept, x):
    return 1.0 / (1.0 + np.exp(-(intercept + x @ np.asarray(coef))))


def test_the_folded_map_gives_what_the_standardised_fit_gives():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, right, weights = _samples()
    coef, intercept = fit_map(x.tolist(), right.tolist(), weights.tolist(), c=0.1)
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
    reference.fit(x, right.astype(int), logisticregression__sample_weight=weights)
    assert np.allclose(_p(coef, intercept, x), reference.predict_proba(x)[:, 1], atol=1e-6)


def test_a_feature_s_units_do_not_change_the_map():
    """Scaling a feature by 1000 scales its coefficient back: the same confidences. A penalty
    on raw features does not do that (it shrinks the narrow feature's say)."""
    x, right, weights = _samples()
    coef, intercept = fit_map(x, right, weights, c=0.1)
    wide = x.copy()
    wide[:, 1] *= 1000.0
    coef_wide, intercept_wide = fit_map(wide, right, weights, c=0.1)
    assert np.allclose(_p(coef, intercept, x), _p(coef_wide, intercept_wide, wide), atol=1e-6)
    assert coef_wide[1] == pytest.approx(coef[1] / 1000.0, rel=1e-4)


def test_a_feature_that_never_varies_gets_no_weight_and_no_nan():
    x, right, weights = _samples()
    coef, intercept = fit_map(x, right, weights, c=0.1)
    assert coef[2] == 0.0
    assert np.isfinite(coef).all() and np.isfinite(intercept)
    # and the two telling features push the right way
    assert coef[0] > 0 and coef[1] > 0
