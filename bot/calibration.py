"""Fitting the confidence calibrator from a pack alone.

The pack's own aliases and negatives are split into folds; for each fold an
index is built without it, and the held-out phrasings are matched: an alias
whose best candidate is its own entry is a "right answer", any other outcome
(wrong entry, or a negative matched to an entry) is a "wrong answer". A
logistic regression over the candidates' evidence then predicts P(right).
No evaluation set is involved, so the evaluation stays honest.
"""
from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import yaml

from .matcher import FEATURES, Calibration, Weights, build_index, feature_vector, rank_with_signals
from .normalize import normalize
from .types import Entry, Pack

from .pack import CALIBRATION_FILE


def fit_calibration(
    entries: Sequence[Entry],
    negatives: Sequence[Sequence[str]],
    weights: Weights = Weights(),
    folds: int = 5,
    seed: int = 1,
) -> tuple[Calibration, dict]:
    from sklearn.linear_model import LogisticRegression

    rng = random.Random(seed)
    items = [("alias", e.id, a) for e in entries for a in e.aliases] + [
        ("negative", str(t), n) for t, topic in enumerate(negatives) for n in topic
    ]
    fold_of = {item: rng.randrange(folds) for item in items}
    xs: list[list[float]] = []
    ys: list[int] = []
    for k in range(folds):
        kept = [
            replace(e, aliases=tuple(a for a in e.aliases if fold_of[("alias", e.id, a)] != k)) for e in entries
        ]
        kept_negatives = [tuple(n for n in topic if fold_of[("negative", str(t), n)] != k) for t, topic in enumerate(negatives)]
        index = build_index(kept, weights, kept_negatives)
        for kind, entry_id, text in (item for item in items if fold_of[item] == k):
            ranked = rank_with_signals(index, normalize(text), 1)
            if not ranked:
                continue
            pos, _, signals = ranked[0]
            xs.append(feature_vector(signals))
            ys.append(int(kind == "alias" and index.entries[pos].id == entry_id))
    if len(set(ys)) < 2:
        raise ValueError("calibration needs aliases that are matched both rightly and wrongly; add aliases or negatives")
    model = LogisticRegression(C=1.0, max_iter=2000).fit(np.asarray(xs), np.asarray(ys))
    calibration = Calibration(
        coef=tuple(round(float(c), 4) for c in model.coef_[0]), intercept=round(float(model.intercept_[0]), 4)
    )
    stats = {"samples": len(ys), "right": int(sum(ys)), "folds": folds}
    return calibration, stats


def save_calibration(folder: str | Path, calibration: Calibration, stats: dict) -> Path:
    path = Path(folder) / CALIBRATION_FILE
    data = {
        "features": list(FEATURES),
        "coef": list(calibration.coef),
        "intercept": calibration.intercept,
        "fitted_on": stats,
    }
    header = "# Written by `faqbot knowledge calibrate` from this pack's held-out aliases and negatives.\n"
    path.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load_calibration(packs: Sequence[Pack]) -> Optional[Calibration]:
    """The first pack's calibration.yaml, if any; malformed files are an error, not a silent default."""
    for pack in packs:
        path = Path(pack.path) / CALIBRATION_FILE
        if not path.exists():
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        coef = data.get("coef")
        if data.get("features") != list(FEATURES) or not isinstance(coef, list) or len(coef) != len(FEATURES):
            raise ValueError(f"{path}: made for other features; run `faqbot knowledge calibrate {pack.path}` again")
        return Calibration(coef=tuple(float(c) for c in coef), intercept=float(data.get("intercept", 0.0)))
    return None
