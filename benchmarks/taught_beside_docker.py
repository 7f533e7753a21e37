"""The Docker pack with pairs taught beside it: its dev set's figures with the second
opinion on and off. `python benchmarks/taught_beside_docker.py [--shared DIR] [--json]`.

A taught pair is one phrasing, like a raw import's entry, so once anything is taught
the bot's unsure messages take the second opinion (Index.wants_second), and the taught
entries are rated by the shipped second map; the Docker pack's own entries keep its
map. This checks that the Docker pack does not pay for it: the titles and answers of
two development FAQs (antd-en and youtube-dl, imported raw: 68 pairs) are taught
beside it through the engine's own path for what is learned in chat
(Engine.apply_learned with the learned overlay, rebuilt as after a start or a refit),
and `faqbot eval`'s metrics on ../shared/eval/dev.tsv are computed with the second
opinion on and off (Weights.second_gate 0). The pack keeps its own calibration: taught
pairs never refit it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.cli.evaluate import evaluate  # noqa: E402
from bot.cli.labels import read_rows  # noqa: E402
from bot.knowledge.pack import load_pack  # noqa: E402
from bot.matching.engine import Engine, LearnedOverlay  # noqa: E402
from bot.matching.matcher import Weights  # noqa: E402
from bot.matching.second import ensure_second_opinion  # noqa: E402
from bot.matching.types import Entry  # noqa: E402
from fit_second_map import import_dev_faq  # noqa: E402

TAUGHT_FROM = ("antd-en", "youtube-dl")
FIGURES = ("top1", "top3", "answer_precision", "coverage", "false_answer_rate", "out_of_scope_suggest_rate")


def taught_pairs(shared: Path, into: Path) -> list[Entry]:
    """The development FAQs' titles and answers, as pairs taught in chat."""
    pairs: list[Entry] = []
    for name in TAUGHT_FROM:
        folder, _ = import_dev_faq(shared, name, into)
        for entry in load_pack(str(folder)).entries:
            pairs.append(Entry(id=f"taught-{len(pairs) + 1}", n=0, question=entry.question, answer=entry.answer, learned=True, source="learned"))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(REPO.parent / "shared"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    shared = Path(args.shared)
    tmp = Path(tempfile.mkdtemp())
    os.environ.setdefault("FAQBOT_CACHE_DIR", str(tmp / "cache"))
    docker = load_pack(str(REPO / "knowledge" / "docker-faq"))
    pairs = taught_pairs(shared, tmp)
    rows = read_rows(shared / "eval" / "dev.tsv")
    out = {"taught": len(pairs)}
    for label, weights in (("second opinion on", Weights()), ("second opinion off", Weights(second_gate=0.0))):
        engine = Engine(docker.entries, packs=[docker], weights=weights)
        engine.apply_learned(LearnedOverlay(revision=1, entries=tuple(pairs)), rebuild=True)
        ensure_second_opinion(engine.index)  # what the warm-up thread does after a teach
        report = evaluate(engine, rows).to_json()
        out[label] = {k: report[k] for k in FIGURES}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"Docker pack + {out['taught']} taught pairs, ../shared/eval/dev.tsv")
    print("| | " + " | ".join(FIGURES) + " |")
    print("| --- |" + " --- |" * len(FIGURES))
    for label in ("second opinion on", "second opinion off"):
        print(f"| {label} | " + " | ".join(f"{out[label][k]:.3f}" for k in FIGURES) + " |")


if __name__ == "__main__":
    main()
