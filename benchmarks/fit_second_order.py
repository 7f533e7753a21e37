"""How the second opinion orders its candidates: `python benchmarks/fit_second_order.py [--shared DIR]`.

For a message the first pass is unsure of, the candidates are ordered by the first pass's
order key plus SECOND_RANK (CROSS_SECOND_RANK across scripts) times the second-opinion
score (bot/matching/matcher.py), plus DENSE_RANK times the sentence encoder's cosine and
COVER_RANK times the share of the message the entry's text covers. This script shows where
the last two come from. Each development FAQ is imported raw as `faqbot knowledge import`
does (fit_second_map.DEV_FAQS); each answerable labelled message that takes the second
opinion gives its candidate pool, scored without those two terms. A conditional logit (the
labelled entry against the rest of its pool; features standardised, L2 penalty PENALTY) is
fitted on three FAQs and measured on the fourth (leave one FAQ out): the printed table gives,
per FAQ, its messages whose labelled entry comes first by the order without the two terms
and by the fitted one, and the fitted weights of the cosine and the coverage per unit of
the order key (what DENSE_RANK and COVER_RANK are set from).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bot.cli.labels import entry_key, pack_names, read_rows, resolve  # noqa: E402
from bot.matching import matcher  # noqa: E402
from bot.matching.engine import Engine  # noqa: E402
from bot.matching.normalize import normalize  # noqa: E402
from fit_second_map import DEV_FAQS, import_dev_faq  # noqa: E402

FEATURES = ("order", "dense", "coverage")
PENALTY = 5.0

Pool = tuple[np.ndarray, np.ndarray]  # (candidates x FEATURES, which candidates are labelled right)


def pools(shared: Path, into: Path) -> dict[str, list[Pool]]:
    """name -> the candidate pools of its answerable messages that took the second opinion
    and whose pool holds a labelled entry; scored without DENSE_RANK and COVER_RANK."""
    saved = matcher.DENSE_RANK, matcher.COVER_RANK
    matcher.DENSE_RANK = matcher.COVER_RANK = 0.0
    try:
        out: dict[str, list[Pool]] = {}
        for name, (_, labels) in DEV_FAQS.items():
            folder, _ = import_dev_faq(shared, name, into)
            engine = Engine.from_packs([str(folder)])
            rows = read_rows(shared / labels)
            expected = resolve(rows, engine.entries, engine.packs, "").expected
            aliases = pack_names(engine.packs)
            found = []
            for row, want in zip(rows, expected):
                if not (row.in_scope and want):
                    continue
                # the evidence behind rank(): a benchmark reads the whole pool, not only its top
                ev = matcher._ranked_evidence(engine.index, normalize(row.query), 3)
                if ev is None or not ev.second:
                    continue
                right = np.array([entry_key(engine.index.entries[pos], aliases) in want for pos in ev.pool])
                if right.any():
                    found.append((np.array([ev.order, ev.dense, ev.coverage], dtype=float).T, right))
            out[name] = found
        return out
    finally:
        matcher.DENSE_RANK, matcher.COVER_RANK = saved


def fit(train: list[Pool]) -> np.ndarray:
    """Weights per raw feature unit of a conditional logit over the pools."""
    from scipy.optimize import minimize

    spread = np.vstack([x for x, _ in train]).std(axis=0) + 1e-12
    scaled = [(x / spread, right) for x, right in train]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = PENALTY * float(w @ w), 2 * PENALTY * w
        for x, right in scaled:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            hit = float(p[right].sum())
            total -= math.log(max(hit, 1e-12))
            grad -= x.T @ (p * right / max(hit, 1e-12) - p)
        return total, grad

    return minimize(loss, np.zeros(len(FEATURES)), jac=True, method="L-BFGS-B").x / spread


def first_right(found: list[Pool], w: np.ndarray) -> int:
    return sum(bool(right[int(np.argmax(x @ w))]) for x, right in found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=str(REPO.parent / "shared"), help="the shared data folder (default: ../shared)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("FAQBOT_CACHE_DIR", str(Path(tmp) / "cache"))
        found = pools(Path(args.shared), Path(tmp))
    order_only = np.array([1.0, 0.0, 0.0])
    print("| FAQ | messages | right first: order alone | fitted on the other three | cosine per order unit | coverage per order unit |")
    print("| --- | --- | --- | --- | --- | --- |")
    totals = [0, 0, 0]
    for name, held in found.items():
        w = fit([p for other, pools_ in found.items() if other != name for p in pools_])
        before, after = first_right(held, order_only), first_right(held, w)
        totals = [totals[0] + len(held), totals[1] + before, totals[2] + after]
        print(f"| {name} | {len(held)} | {before} | {after} | {w[1] / w[0]:.1f} | {w[2] / w[0]:.1f} |")
    w = fit([p for pools_ in found.values() for p in pools_])
    print(f"| all four | {totals[0]} | {totals[1]} | {totals[2]} (each left out) | {w[1] / w[0]:.1f} | {w[2] / w[0]:.1f} (fitted on all) |")


if __name__ == "__main__":
    main()
