"""Accuracy on a labelled set, with the metrics of the evaluation README.

Rows are `query, expected, lang, note`; expected is a comma-separated list of
entry numbers, or `-` when the bot should not answer. Ranking is done once per
row; every threshold is then applied to the same ranked candidates, which is
what makes the sweep cheap and consistent with `ask`.
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from .engine import Engine, decide
from .types import Decision, MatchResult, Mode, Thresholds


@dataclass(frozen=True)
class Row:
    query: str
    expected: frozenset[int]  # empty: out of scope
    lang: str
    note: str = ""

    @property
    def in_scope(self) -> bool:
        return bool(self.expected)


def read_rows(path: str | Path) -> list[Row]:
    rows: list[Row] = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"query", "expected"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for number, rec in enumerate(reader, 2):
            raw = (rec.get("expected") or "").strip()
            try:
                expected = frozenset() if raw in ("-", "") else frozenset(int(x) for x in raw.split(",") if x.strip())
            except ValueError:
                raise ValueError(f"{path}:{number}: expected must be entry numbers or '-', not {raw!r}") from None
            rows.append(Row((rec.get("query") or "").strip(), expected, (rec.get("lang") or "").strip(), rec.get("note") or ""))
    return rows


@dataclass(frozen=True)
class AnswerStats:
    threshold: float
    answer_precision: float
    coverage: float
    false_answer_rate: float
    answered: int


@dataclass
class Report:
    rows: int
    in_scope: int
    top1: float
    top3: float
    mrr: float
    answer_precision: float
    coverage: float
    false_answer_rate: float
    ambient: AnswerStats
    by_lang: dict[str, dict[str, float]] = field(default_factory=dict)
    sweep: list[AnswerStats] = field(default_factory=list)
    misses: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def _rank_of(result: MatchResult, expected: frozenset[int]) -> Optional[int]:
    for pos, cand in enumerate(result.candidates, 1):
        if cand.entry.n in expected:
            return pos
    return None


def _answers(results: Sequence[MatchResult], rows: Sequence[Row], thresholds: Thresholds, mode: Mode) -> AnswerStats:
    answered = correct = covered = false = 0
    for res, row in zip(results, rows):
        decision, _ = decide(res.candidates, thresholds, mode)
        if decision is not Decision.ANSWER:
            continue
        answered += 1
        hit = res.candidates[0].entry.n in row.expected
        correct += hit
        covered += hit
        false += not row.in_scope
    in_scope = sum(r.in_scope for r in rows) or 1
    out_scope = sum(not r.in_scope for r in rows) or 1
    return AnswerStats(
        threshold=thresholds.bar(mode),
        answer_precision=round(correct / answered, 4) if answered else 1.0,
        coverage=round(covered / in_scope, 4),
        false_answer_rate=round(false / out_scope, 4),
        answered=answered,
    )


def _ranking(results: Sequence[MatchResult], rows: Sequence[Row]) -> dict[str, float]:
    scoped = [(res, row) for res, row in zip(results, rows) if row.in_scope]
    ranks = [_rank_of(res, row.expected) for res, row in scoped]
    n = len(ranks) or 1
    return {
        "rows": len(ranks),
        "top1": round(sum(r == 1 for r in ranks) / n, 4),
        "top3": round(sum(r is not None and r <= 3 for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def evaluate(engine: Engine, rows: Sequence[Row], sweep: Sequence[float] = (), worst: int = 10) -> Report:
    # rank deep enough for MRR; decisions use the engine's own candidate count
    results = [engine.ask(row.query, Mode.REPLY, depth=10) for row in rows]
    ranking = _ranking(results, rows)
    t = engine.thresholds
    reply = _answers(results, rows, t, Mode.REPLY)
    ambient = _answers(results, rows, t, Mode.AMBIENT)
    by_lang: dict[str, dict[str, float]] = {}
    for lang in sorted({r.lang for r in rows if r.lang}):
        pairs = [(res, row) for res, row in zip(results, rows) if row.lang == lang]
        stats = _ranking([p[0] for p in pairs], [p[1] for p in pairs])
        stats.update(
            {k: v for k, v in asdict(_answers([p[0] for p in pairs], [p[1] for p in pairs], t, Mode.REPLY)).items() if k != "threshold"}
        )
        by_lang[lang] = stats
    sweep_stats = [
        _answers(results, rows, Thresholds(**{**asdict(t), "reply": th}), Mode.REPLY) for th in sweep
    ]
    misses = []
    for res, row in zip(results, rows):
        top = res.candidates[0] if res.candidates else None
        decision, _ = decide(res.candidates, t, Mode.REPLY)
        wrong_rank = row.in_scope and (top is None or top.entry.n not in row.expected)
        false_answer = not row.in_scope and decision is Decision.ANSWER
        if wrong_rank or false_answer:
            misses.append(
                {
                    "query": row.query,
                    "expected": sorted(row.expected) or "-",
                    "lang": row.lang,
                    "got": top.entry.n if top else None,
                    "score": top.score if top else 0.0,
                    "rank": _rank_of(res, row.expected),
                    "answered": decision is Decision.ANSWER,
                    "note": row.note,
                }
            )
    misses.sort(key=lambda m: (-m["answered"], -m["score"]))
    return Report(
        rows=len(rows),
        in_scope=int(ranking["rows"]),
        top1=ranking["top1"],
        top3=ranking["top3"],
        mrr=ranking["mrr"],
        answer_precision=reply.answer_precision,
        coverage=reply.coverage,
        false_answer_rate=reply.false_answer_rate,
        ambient=ambient,
        by_lang=by_lang,
        sweep=sweep_stats,
        misses=misses[:worst],
    )


def format_report(report: Report, thresholds: Thresholds) -> str:
    lines = [
        f"rows: {report.rows} ({report.in_scope} in scope, {report.rows - report.in_scope} out of scope)",
        f"ranking (in-scope rows): top-1 {report.top1:.3f}  top-3 {report.top3:.3f}  MRR {report.mrr:.3f}",
        f"at reply threshold {thresholds.reply:.2f}: answer precision {report.answer_precision:.3f}  "
        f"coverage {report.coverage:.3f}  false-answer rate {report.false_answer_rate:.3f}",
        f"at ambient threshold {thresholds.ambient:.2f}: answer precision {report.ambient.answer_precision:.3f}  "
        f"coverage {report.ambient.coverage:.3f}  false-answer rate {report.ambient.false_answer_rate:.3f}",
        "",
        "by language:",
        f"  {'lang':<5} {'rows':>5} {'top1':>6} {'top3':>6} {'mrr':>6} {'prec':>6} {'cover':>6} {'false':>6}",
    ]
    for lang, s in report.by_lang.items():
        lines.append(
            f"  {lang:<5} {int(s['rows']):>5} {s['top1']:>6.3f} {s['top3']:>6.3f} {s['mrr']:>6.3f} "
            f"{s['answer_precision']:>6.3f} {s['coverage']:>6.3f} {s['false_answer_rate']:>6.3f}"
        )
    if report.sweep:
        lines += ["", "precision/coverage sweep (reply threshold):", f"  {'thresh':>6} {'prec':>6} {'cover':>6} {'false':>6} {'answered':>8}"]
        for s in report.sweep:
            lines.append(
                f"  {s.threshold:>6.2f} {s.answer_precision:>6.3f} {s.coverage:>6.3f} {s.false_answer_rate:>6.3f} {s.answered:>8}"
            )
    if report.misses:
        lines += ["", f"worst misses ({len(report.misses)}):"]
        for m in report.misses:
            flag = "ANSWERED" if m["answered"] else "ranked"
            exp = ",".join(map(str, m["expected"])) if isinstance(m["expected"], list) else m["expected"]
            lines.append(f"  [{flag} {m['got']} @ {m['score']:.2f}, want {exp}, rank {m['rank']}] {m['query'][:90]}")
    return "\n".join(lines)


def plot_sweep(report: Report, path: str) -> None:
    """Precision and coverage against the threshold, as a PNG (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [s.threshold for s in report.sweep]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(xs, [s.answer_precision for s in report.sweep], label="answer precision")
    ax.plot(xs, [s.coverage for s in report.sweep], label="coverage")
    ax.plot(xs, [s.false_answer_rate for s in report.sweep], label="false-answer rate")
    ax.set_xlabel("reply threshold")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
