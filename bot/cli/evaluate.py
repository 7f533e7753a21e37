"""Accuracy on a labelled set, with the metrics of the evaluation README.

The labels (which entries each row means, resolved to pack + id) are read by
labels.py. Ranking is done once per row; the reply and ambient figures use the
engine's own decisions (so eval sees exactly what `ask` and the adapters do),
and the threshold sweep re-applies `decide()` to the same ranked candidates.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

from ..matching.types import Decision, Entry, MatchResult, Mode, Thresholds
from .labels import NUMBERS, TITLE_SEPARATOR, TITLES, EntryKey, Row, entry_key, pack_names, pack_of, resolve

if TYPE_CHECKING:  # the engine (scikit-learn) only when evaluating, so `faqbot --help` stays quick
    from ..matching.engine import Engine

Outcome = tuple[Decision, Optional[EntryKey]]  # what the bot did with a message, and with which entry


@dataclass(frozen=True)
class AnswerStats:
    threshold: float
    answer_precision: float
    coverage: float
    false_answer_rate: float
    answered: int
    # share of out-of-scope rows that got a "did you mean" list (asked directly; 0 in ambient mode)
    out_of_scope_suggest_rate: float = 0.0
    # share of answerable rows not answered whose "did you mean" list names a right entry
    # (asked directly): what the lists are for, the other side of the suggestion rate
    helpful_list_rate: float = 0.0


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
    out_of_scope_suggest_rate: float
    ambient: AnswerStats
    helpful_list_rate: float = 0.0
    labels: str = NUMBERS  # the file's label spelling
    packs: dict[str, int] = field(default_factory=dict)  # pack folder name -> entries loaded (learned ones under "learned")
    label_pack: str = ""  # the pack bare numbers and ids were read against
    unresolved: list[str] = field(default_factory=list)  # labels that named no loaded entry
    by_lang: dict[str, dict[str, float]] = field(default_factory=dict)
    sweep: list[AnswerStats] = field(default_factory=list)
    misses: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Scored:
    """One row with what the engine did with it: ranked candidates and its own decisions."""

    row: Row
    expected: frozenset[EntryKey]
    reply: MatchResult  # asked directly, ranked deep enough for MRR
    ambient: Outcome  # the engine's decision (and top entry) for the same message overheard
    keys: tuple[EntryKey, ...]  # the candidates' pack + id, in rank order

    @property
    def top(self) -> Optional[EntryKey]:
        return self.keys[0] if self.keys else None


def _rank_of(item: _Scored) -> Optional[int]:
    for pos, key in enumerate(item.keys, 1):
        if key in item.expected:
            return pos
    return None


def _stats(
    items: Sequence[_Scored], threshold: float, outcomes: Sequence[Outcome], lists: Optional[Sequence[tuple[EntryKey, ...]]] = None
) -> AnswerStats:
    """`lists`: the entries each row's "did you mean" list names (when it got one)."""
    answered = correct = false = suggested = helpful = 0
    for n, (item, (decision, top)) in enumerate(zip(items, outcomes)):
        if decision is Decision.SUGGEST and not item.row.in_scope:
            suggested += 1
        if decision is Decision.SUGGEST and lists is not None and item.expected.intersection(lists[n]):
            helpful += 1
        if decision is not Decision.ANSWER:
            continue
        answered += 1
        correct += top in item.expected
        false += not item.row.in_scope
    in_scope = sum(i.row.in_scope for i in items) or 1
    out_scope = sum(not i.row.in_scope for i in items) or 1
    return AnswerStats(
        threshold=threshold,
        answer_precision=round(correct / answered, 4) if answered else 1.0,
        coverage=round(correct / in_scope, 4),
        false_answer_rate=round(false / out_scope, 4),
        answered=answered,
        out_of_scope_suggest_rate=round(suggested / out_scope, 4),
        helpful_list_rate=round(helpful / in_scope, 4),
    )


def _reply_stats(items: Sequence[_Scored], thresholds: Thresholds) -> AnswerStats:
    from ..matching.engine import listed

    lists = []
    for item in items:
        shown = listed(item.reply.candidates, thresholds)
        lists.append(tuple(k for c, k in zip(item.reply.candidates, item.keys) if c in shown))
    return _stats(items, thresholds.reply, [(i.reply.decision, i.top) for i in items], lists)


def _ranking(items: Sequence[_Scored]) -> dict[str, float]:
    ranks = [_rank_of(i) for i in items if i.row.in_scope]
    n = len(ranks) or 1
    return {
        "rows": len(ranks),
        "top1": round(sum(r == 1 for r in ranks) / n, 4),
        "top3": round(sum(r is not None and r <= 3 for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def _knowledge(entries: Sequence[Entry], aliases: Mapping[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        name = pack_of(entry, aliases)
        counts[name] = counts.get(name, 0) + 1
    return counts


def _label(key: EntryKey, several: bool) -> str:
    return f"{key[0]}/{key[1]}" if several else key[1]


def evaluate(
    engine: Engine, rows: Sequence[Row], sweep: Sequence[float] = (), worst: int = 10, label_pack: str = ""
) -> Report:
    """Every metric of the evaluation README for `rows` against what `engine` has loaded (learned knowledge included)."""
    from ..matching.engine import decide

    resolved = resolve(rows, engine.entries, engine.packs, label_pack)
    aliases = pack_names(engine.packs)
    items: list[_Scored] = []
    for row, expected in zip(rows, resolved.expected):
        # rank deep enough for MRR; the decision is the engine's own, as `ask` makes it
        reply = engine.ask(row.query, Mode.REPLY, depth=10)
        ambient = engine.ask(row.query, Mode.AMBIENT)
        ambient_top = entry_key(ambient.top, aliases) if ambient.top else None
        keys = tuple(entry_key(c.entry, aliases) for c in reply.candidates)
        items.append(_Scored(row, expected, reply, (ambient.decision, ambient_top), keys))
    t = engine.thresholds
    ranking = _ranking(items)
    reply = _reply_stats(items, t)
    ambient = _stats(items, t.ambient, [i.ambient for i in items])
    by_lang: dict[str, dict[str, float]] = {}
    for lang in sorted({r.lang for r in rows if r.lang}):
        subset = [i for i in items if i.row.lang == lang]
        stats = _ranking(subset)
        stats.update({k: v for k, v in asdict(_reply_stats(subset, t)).items() if k != "threshold"})
        by_lang[lang] = stats
    sweep_stats = []
    for th in sweep:
        at = Thresholds(**{**asdict(t), "reply": th, "suggest": min(t.suggest, th)})
        sweep_stats.append(_stats(items, th, [(decide(i.reply.candidates, at, Mode.REPLY)[0], i.top) for i in items]))
    several = len(set(aliases.values())) > 1
    misses = []
    for item in items:
        top = item.reply.candidates[0] if item.reply.candidates else None
        answered = item.reply.decision is Decision.ANSWER
        wrong_rank = item.row.in_scope and (not item.keys or item.keys[0] not in item.expected)
        false_answer = not item.row.in_scope and answered
        if wrong_rank or false_answer:
            misses.append(
                {
                    "query": item.row.query,
                    "expected": list(item.row.labels) or "-",
                    "lang": item.row.lang,
                    "got": _label(item.keys[0], several) if top else None,
                    "got_n": top.entry.n if top else None,
                    "score": top.score if top else 0.0,
                    "rank": _rank_of(item),
                    "answered": answered,
                    "note": item.row.note,
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
        out_of_scope_suggest_rate=reply.out_of_scope_suggest_rate,
        helpful_list_rate=reply.helpful_list_rate,
        ambient=ambient,
        labels=resolved.spelling,
        packs=_knowledge(engine.entries, aliases),
        label_pack=resolved.label_pack,
        unresolved=list(resolved.unresolved),
        by_lang=by_lang,
        sweep=sweep_stats,
        misses=misses[:worst],
    )


def format_report(report: Report, thresholds: Thresholds) -> str:
    out_scope = report.rows - report.in_scope
    lines = [
        f"rows: {report.rows} ({report.in_scope} in scope, {out_scope} out of scope); labels: {report.labels}"
        + (f" (bare ones in pack {report.label_pack})" if report.labels != TITLES and report.label_pack else ""),
    ]
    if report.packs:  # what was evaluated: the packs, and what was learned in chat on top of them
        lines.append("knowledge: " + ", ".join(f"{name} ({count} entries)" for name, count in report.packs.items()))
    if report.unresolved:
        shown = "; ".join(report.unresolved[:5]) + (" …" if len(report.unresolved) > 5 else "")
        lines.append(f"warning: {len(report.unresolved)} label(s) name no loaded entry (counted as misses): {shown}")
    lines += [
        f"ranking (in-scope rows): top-1 {report.top1:.3f}  top-3 {report.top3:.3f}  MRR {report.mrr:.3f}",
        f"at reply threshold {thresholds.reply:.2f}: answer precision {report.answer_precision:.3f}  "
        f"coverage {report.coverage:.3f}  false-answer rate {report.false_answer_rate:.3f}  "
        f"out-of-scope suggestion rate {report.out_of_scope_suggest_rate:.3f}  "
        f"lists naming a right entry {report.helpful_list_rate:.3f}",
        f"at ambient threshold {thresholds.ambient:.2f}: answer precision {report.ambient.answer_precision:.3f}  "
        f"coverage {report.ambient.coverage:.3f}  false-answer rate {report.ambient.false_answer_rate:.3f}",
        "",
        "by language:",
        f"  {'lang':<5} {'rows':>5} {'top1':>6} {'top3':>6} {'mrr':>6} {'prec':>6} {'cover':>6} {'false':>6} {'suggest':>7}",
    ]
    for lang, s in report.by_lang.items():
        lines.append(
            f"  {lang:<5} {int(s['rows']):>5} {s['top1']:>6.3f} {s['top3']:>6.3f} {s['mrr']:>6.3f} "
            f"{s['answer_precision']:>6.3f} {s['coverage']:>6.3f} {s['false_answer_rate']:>6.3f} "
            f"{s['out_of_scope_suggest_rate']:>7.3f}"
        )
    if report.sweep:
        lines += [
            "",
            "precision/coverage sweep (reply threshold):",
            f"  {'thresh':>6} {'prec':>6} {'cover':>6} {'false':>6} {'suggest':>7} {'answered':>8}",
        ]
        for s in report.sweep:
            lines.append(
                f"  {s.threshold:>6.2f} {s.answer_precision:>6.3f} {s.coverage:>6.3f} {s.false_answer_rate:>6.3f} "
                f"{s.out_of_scope_suggest_rate:>7.3f} {s.answered:>8}"
            )
    if report.misses:
        lines += ["", f"worst misses ({len(report.misses)}):"]
        for m in report.misses:
            flag = "ANSWERED" if m["answered"] else "ranked"
            sep = TITLE_SEPARATOR if report.labels == TITLES else ","
            exp = sep.join(m["expected"]) if isinstance(m["expected"], list) else m["expected"]
            lines.append(f"  [{flag} {m['got']} @ {m['score']:.2f}, want {exp[:60]}, rank {m['rank']}] {m['query'][:90]}")
    return "\n".join(lines)


def plot_sweep(report: Report, path: str, thresholds: Thresholds, title: str = "") -> None:
    """Precision, coverage and the two out-of-scope rates against the reply threshold, as a PNG
    (needs matplotlib), with the configured reply and ambient thresholds marked."""
    import matplotlib.pyplot as plt

    fig = sweep_figure(report, thresholds, title)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def sweep_figure(report: Report, thresholds: Thresholds, title: str = ""):
    """The sweep plot as a matplotlib Figure (the caller saves and closes it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [s.threshold for s in report.sweep]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = (
        ("answer precision", "answer_precision", "-", "o"),
        ("coverage", "coverage", "-", "s"),
        ("false-answer rate", "false_answer_rate", "--", "^"),
        ("out-of-scope suggestion rate", "out_of_scope_suggest_rate", ":", "v"),
    )
    for label, attr, style, marker in series:
        ax.plot(xs, [getattr(s, attr) for s in report.sweep], style, marker=marker, markersize=3, label=label)
    for name, value, style in (("reply", thresholds.reply, "-."), ("ambient", thresholds.ambient, (0, (1, 3)))):
        ax.axvline(value, color="0.35", linestyle=style, linewidth=1.2, label=f"{name} threshold {value:.2f}")
    ax.set_title(title or f"Precision and coverage by reply threshold ({report.rows} rows)")
    ax.set_xlabel("reply threshold (confidence needed to answer)")
    ax.set_ylabel("share of rows")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    # outside the axes, so the legend covers no line
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", borderaxespad=0)
    fig.tight_layout()
    return fig
