"""Import time of the public FAQs: `python benchmarks/import_time.py [--runs N] [--shared DIR]`.

For each FAQ in ../shared/faqs (and the Docker FAQ source with its index), the
whole `knowledge import` into a fresh folder — parse, short answers, merge, YAML
written — is timed in-process N times; the median and the slowest run are
printed with the entries imported. A fresh `faqbot knowledge import` process
adds the interpreter's start and imports on top (measure with `time`).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bot.knowledge.importer import import_markdown

REPO = Path(__file__).resolve().parent.parent
FAQS = {
    "antd-zh": ["faq.zh-CN.md"],
    "antd-en": ["faq.en-US.md"],
    "curl": ["FAQ.md"],
    "youtube-dl": ["README.md"],
    "docker-practice": ["README.md", "errors.md"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shared", default=str(REPO.parent / "shared"))
    args = parser.parse_args()
    shared = Path(args.shared)
    jobs = [(name, [shared / "faqs" / name / f for f in files], None) for name, files in FAQS.items()]
    jobs.append(("docker-faq (source + index)", [shared / "docker-faq" / "docker-faq.md"], shared / "docker-faq" / "questions.tsv"))
    print(f"{'FAQ':30} {'entries':>7} {'median ms':>10} {'max ms':>8}")
    for name, files, index in jobs:
        times, written = [], 0
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                report = import_markdown(files, Path(tmp) / "pack", base_url="https://faq.test/page.html", index=index)
                times.append((time.perf_counter() - start) * 1000)
                written = report.written
        print(f"{name:30} {written:>7} {statistics.median(times):>10.1f} {max(times):>8.1f}")


if __name__ == "__main__":
    main()
