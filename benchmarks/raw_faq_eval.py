"""Raw-import accuracy of the dev FAQs, next to a plain char-TF-IDF baseline:
`python benchmarks/raw_faq_eval.py [--shared DIR] [--json]`.

Each FAQ with a labelled dev set (../shared/faqs/{antd-zh,antd-en,youtube-dl},
and the Docker FAQ source with ../shared/eval/dev.tsv) is imported raw into a
temporary folder, exactly as `faqbot knowledge import` does it (no aliases,
negatives or edits), and calibrated from its own text; `faqbot eval`'s metrics
are computed on it at the default thresholds. The shipped Docker pack (hand
tuned) is measured on the same Docker rows for comparison.

The baseline, measured in the same run on the same imported entries and labels:
scikit-learn's TfidfVectorizer over character 2-4-grams (char_wb, sublinear tf)
of each entry's title and body, ranked by cosine. It has no notion of
confidence, so only its ranking (top-1, top-3) is reported. Import plus
calibration is timed per FAQ (in-process, one run); `ask` is timed per labelled
message (median of three passes' p50 and p99, after a warm-up pass).

Side by side: antd-zh imported raw and loaded beside the shipped Docker pack
(antd-zh's rows), and the shipped pack beside docker-practice imported raw (the
Docker rows; docker-practice's own labels are not shared).

The second opinion's confidence map (bot/matching/second_map.py) is fitted on
these same FAQs' labelled messages, so each row is measured with a map fitted
without that FAQ's rows (leave one FAQ out, benchmarks/fit_second_map.py): the
figures are what a FAQ the map never saw gets. `--shipped-map` measures with
the shipped map instead (in-sample for these rows).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.cli.evaluate import evaluate  # noqa: E402
from bot.cli.labels import entry_key, pack_names, read_rows, resolve  # noqa: E402
from bot.knowledge.importer import import_markdown  # noqa: E402
from bot.matching.calibration import calibrate_pack  # noqa: E402
from bot.matching.engine import Engine  # noqa: E402
from bot.matching.normalize import normalize  # noqa: E402
from fit_second_map import DEV_FAQS, collect_all, write_fit  # noqa: E402


def baseline(engine: Engine, rows, expected) -> dict[str, float]:
    """Top-1 and top-3 of char 2-4-gram TF-IDF over title + body, on the same entries and labels."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    entries = engine.pack_entries
    aliases = pack_names(engine.packs)
    docs = [normalize(f"{e.question}\n{e.body}", max_chars=50_000) for e in entries]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    matrix = vectorizer.fit_transform(docs)
    top1 = top3 = scoped = 0
    for row, want in zip(rows, expected):
        if not row.in_scope:
            continue
        scoped += 1
        scores = (matrix @ vectorizer.transform([normalize(row.query)]).T).toarray().ravel()
        best = [entry_key(entries[i], aliases) for i in scores.argsort()[::-1][:3]]
        top1 += best[0] in want
        top3 += any(key in want for key in best)
    return {"top1": round(top1 / max(scoped, 1), 3), "top3": round(top3 / max(scoped, 1), 3)}


def latency(engine: Engine, rows) -> dict[str, float]:
    """Per-message time of `ask` over the labelled messages (real chat: most are the unsure
    ones that take the second opinion), after one warm-up pass; median of 3 passes' p50/p99."""
    texts = [row.query for row in rows]
    for text in texts:
        engine.ask(text)
    p50s, p99s = [], []
    for _ in range(3):
        took = []
        for text in texts:
            started = time.perf_counter()
            engine.ask(text)
            took.append((time.perf_counter() - started) * 1000)
        took.sort()
        p50s.append(took[len(took) // 2])
        p99s.append(took[min(len(took) - 1, int(len(took) * 0.99))])
    return {"p50_ms": round(sorted(p50s)[1], 2), "p99_ms": round(sorted(p99s)[1], 2)}


def measure(name: str, pack_dir: Path | list[Path], labels: Path, seconds: float | None, label_pack: str = "") -> dict:
    engine = Engine.from_packs([str(d) for d in (pack_dir if isinstance(pack_dir, list) else [pack_dir])])
    rows = read_rows(labels)
    report = evaluate(engine, rows, label_pack=label_pack)
    expected = resolve(rows, engine.entries, engine.packs, label_pack).expected
    return {
        "faq": name,
        "entries": len(engine.pack_entries),
        "top1": report.top1,
        "top3": report.top3,
        "answer_precision": report.answer_precision,
        "coverage": report.coverage,
        "false_answer_rate": report.false_answer_rate,
        "suggest_rate": report.out_of_scope_suggest_rate,
        "helpful_list_rate": report.helpful_list_rate,
        # top-1 per language of the message (the dev sets' lang column), and how many answerable rows
        "top1_by_language": {
            lang: {"top1": stats["top1"], "rows": sum(1 for r in rows if r.in_scope and r.lang == lang)} for lang, stats in report.by_lang.items()
        },
        "baseline": baseline(engine, rows, expected),
        "ask": latency(engine, rows),
        "import_and_calibrate_s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=str(REPO.parent / "shared"), help="the shared data folder (default: ../shared)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seed", type=int, default=1, help="seed of the self-calibration's made-up questions and folds (default: 1, as an import)")
    parser.add_argument("--shipped-map", action="store_true", help="measure with the shipped second-opinion map, not one fitted without the FAQ measured")
    args = parser.parse_args()
    shared = Path(args.shared)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("FAQBOT_CACHE_DIR", str(Path(tmp) / "cache"))
        collected = collect_all(shared, Path(tmp), seed=args.seed)

        def unseen(name: str) -> None:
            """Measure the next rows with the map fitted without `name`'s rows."""
            if not args.shipped_map:
                os.environ["FAQBOT_SECOND_MAP"] = str(write_fit(Path(tmp) / f"second-map-{name.split(' ')[0]}.yaml", collected, name))

        for name, (_, labels) in DEV_FAQS.items():
            unseen(name)
            results.append(measure(name, collected.folders[name], shared / labels, collected.seconds[name]))
        shipped = REPO / "knowledge" / "docker-faq"
        results.append(measure("docker-faq (shipped pack)", shipped, shared / "eval" / "dev.tsv", None))
        # side by side: a raw import loaded beside the shipped pack, each one's rows
        unseen("antd-zh")
        results.append(measure("antd-zh beside the shipped Docker pack", [shipped, collected.folders["antd-zh"]], shared / DEV_FAQS["antd-zh"][1], None, "antd-zh"))
        practice = Path(tmp) / "docker-practice"
        import_markdown([shared / "faqs/docker-practice/README.md", shared / "faqs/docker-practice/errors.md"], practice)
        calibrate_pack(practice, seed=args.seed)
        unseen("docker-faq (raw)")
        results.append(measure("shipped Docker pack beside docker-practice", [shipped, practice], shared / "eval" / "dev.tsv", None, "docker-faq"))
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    head = (
        "| FAQ | entries | top-1 | top-3 | answer precision | coverage | false-answer | suggestion rate | lists naming a right entry | char-TF-IDF top-1 | char-TF-IDF top-3 "
        "| import + calibrate | ask p50 / p99 | top-1 by language (answerable rows) |"
    )
    print(head)
    print("| --- " * (head.count("|") - 1) + "|")
    for r in results:
        took = f"{r['import_and_calibrate_s']:.1f} s" if r["import_and_calibrate_s"] is not None else "–"
        print(
            f"| {r['faq']} | {r['entries']} | {r['top1']:.3f} | {r['top3']:.3f} | {r['answer_precision']:.3f} | {r['coverage']:.3f} | "
            f"{r['false_answer_rate']:.3f} | {r['suggest_rate']:.3f} | {r['helpful_list_rate']:.3f} | {r['baseline']['top1']:.3f} | {r['baseline']['top3']:.3f} | {took} "
            f"| {r['ask']['p50_ms']:.1f} / {r['ask']['p99_ms']:.1f} ms | {_by_language(r['top1_by_language'])} |"
        )


def _by_language(found: dict) -> str:
    return ", ".join(f"{lang} {v['top1']:.2f} ({v['rows']})" for lang, v in found.items() if v["rows"])


if __name__ == "__main__":
    main()
