"""The second opinion's confidence map, shipped with the engine like its chatter.

A message the first pass is unsure of takes the second opinion (second.py), and
its confidence comes from a map over SECOND_FEATURES. Fitting that map on
questions made up from the pack itself (calibration.py) made the bot shy: made-up
questions repeat their entry's words (word coverage 0.81 against 0.64 for
people's right questions), so it learned that a question which says things its
own way is probably wrong, and answered a quarter to two fifths of the questions
it ranked right.

So the map is fitted once, on how people really ask: the labelled chat messages
of the development FAQs (antd-zh, antd-en, youtube-dl and the Docker 问答录,
each imported raw), by `python benchmarks/fit_second_map.py`. It reads evidence,
not any FAQ's words (scores, margins, coverage), so it carries to a FAQ it never
saw; the benchmark checks exactly that by fitting it without the FAQ it measures
(leave one FAQ out). A map is fitted for one sentence encoder: with another, or
none, the first pass's map (the pack's own) gives the confidence.

The map rates the entries of raw imports only (Index.raw_entry). Beside a pack
phrased by hand (the Docker pack), that pack's entries keep its own map: rating
them with this one made the bot too sure of them (the Docker dev set's false
answers 0.03 -> 0.17 beside docker-practice). A map fitted on raw imports loaded
beside the Docker pack, from fewer messages, was less precise on them than this
one (antd-zh beside the Docker pack: precision 0.79 against 0.92).

`FAQBOT_SECOND_MAP` names another map file (the benchmarks' leave-one-out fits).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import yaml

from .matcher import SECOND_FEATURES

log = logging.getLogger("faqbot.second_map")

SECOND_MAP_FILE = Path(__file__).parent / "data" / "second_map.yaml"


@dataclass(frozen=True)
class SecondMap:
    """A logistic map over SECOND_FEATURES, fitted for one encoder ("" for none)."""

    coef: tuple[float, ...]
    intercept: float
    encoder: str


def second_map_path() -> Path:
    return Path(os.environ.get("FAQBOT_SECOND_MAP") or SECOND_MAP_FILE)


def second_map(encoder: str) -> Optional[SecondMap]:
    """The map for this encoder, or None (no file, another encoder, other features).
    Never raises: without a map the pack's own first map gives the confidence."""
    path = second_map_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    found = _read(str(path), stamp)
    return found if found is not None and found.encoder == encoder else None


@lru_cache(maxsize=4)
def _read(path: str, stamp: int) -> Optional[SecondMap]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        coef = data.get("coef")
        if data.get("features") != list(SECOND_FEATURES) or not isinstance(coef, list) or len(coef) != len(SECOND_FEATURES):
            log.warning("%s is for other features; the second opinion keeps the pack's own map", path)
            return None
        return SecondMap(tuple(float(c) for c in coef), float(data.get("intercept", 0.0)), str(data.get("encoder") or ""))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, TypeError, ValueError, AttributeError) as exc:
        log.warning("could not read the second opinion's map %s: %s", path, exc)
        return None


def fit_map(
    features: Sequence[Sequence[float]], right: Sequence[bool], weights: Sequence[float], c: float
) -> tuple[tuple[float, ...], float]:
    """A logistic map's coefficients over the raw features, and its intercept.

    Fitted on standardised features, then folded back (a coefficient divided by its
    feature's spread, the means moved into the intercept), so that the map reads raw
    features as the engine gives them. Why standardise: the evidence runs over very
    different ranges (log-odds over +-10, cosines over 0-1), and one penalty on raw
    features shrinks the narrow ones most, though the second-opinion score and the
    encoder's cosine tell a right answer best. The fitted map then does not depend on
    a feature's units: scaling one scales its coefficient back. A feature that never
    varies in the samples gets 0."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(features, dtype=float)
    mean, spread = x.mean(axis=0), x.std(axis=0)
    still = spread == 0
    spread[still] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / spread, np.asarray(right, dtype=int), sample_weight=np.asarray(weights, dtype=float))
    coef = model.coef_[0] / spread
    coef[still] = 0.0
    return tuple(float(v) for v in coef), float(model.intercept_[0] - float(np.dot(coef, mean)))


def write_second_map(path: str | Path, coef: Sequence[float], intercept: float, encoder: str, fitted_on: dict) -> Path:
    """Write a map as second_map() reads it (the fitting script's output)."""
    data = {
        "features": list(SECOND_FEATURES),
        "coef": [round(float(c), 4) for c in coef],
        "intercept": round(float(intercept), 4),
        "encoder": encoder,
        "fitted_on": fitted_on,
    }
    header = (
        "# The second opinion's confidence map (bot/matching/second_map.py), written by\n"
        "# `python benchmarks/fit_second_map.py`: a logistic over SECOND_FEATURES fitted on the labelled\n"
        "# chat messages of the development FAQs, each imported raw. Evidence only, no FAQ's words.\n"
    )
    out = Path(path)
    out.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out
