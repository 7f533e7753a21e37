"""Latency of the numpy sentence encoder (bot.matching.dense).

Method: load the encoder once (its load time is printed), then encode single
queries one call at a time, as the bot would for an incoming message: a short
chat message (~12 tokens), a medium one (~40) and a long pasted error cut at
128 tokens; after 10 warm-up calls, --runs timed calls each (perf_counter around
Encoder.encode), reported as p50/p99 in ms. --gap-ms sleeps between calls, as
messages arrive in a chat (idle BLAS threads then have to wake up). Then the one-off cost of encoding
the pack's entries (question + body, default the Docker FAQ's 100) at 256
tokens in one encode() call, best of 3. Everything runs twice: with numpy's
BLAS at its default thread count and at one thread (threadpoolctl), because
these matrices are small and a second thread may cost more than it saves.

    .venv/bin/python benchmarks/dense_latency.py [--runs 300] [--gap-ms 0] [--pack DIR]
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge.pack import load_pack  # noqa: E402
from bot.matching.dense import Encoder  # noqa: E402

DEFAULT_PACK = Path(__file__).resolve().parent.parent / "knowledge" / "docker-faq"
QUERIES = {
    "short": "docker pull keeps timing out, any mirror?",
    "medium": ("I upgraded Docker Desktop on Windows 11 and now every container fails to start with "
               "a WSL error; restarting did not help. Should I reinstall WSL or roll back Docker?"),
    "long (cut 128)": "Traceback (most recent call last):\n" + "".join(
        f'  File "/usr/lib/python3.11/site-packages/app/module_{i}.py", line {10 * i + 3}, in handler_{i}\n'
        f"    result = process(request, timeout={i})\n" for i in range(12))
    + "ConnectionRefusedError: [Errno 111] Connection refused while connecting to redis://localhost:6379/0",
}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(encoder: Encoder, docs: list[str], runs: int, gap_s: float) -> None:
    print(f"{'query':<16}{'tokens':>7}{'p50 ms':>9}{'p99 ms':>9}")
    for name, text in QUERIES.items():
        tokens = min(len(encoder._tok.encode(text).ids), 128)
        for _ in range(10):
            encoder.encode([text])
        times = []
        for _ in range(runs):
            if gap_s:
                time.sleep(gap_s)
            start = time.perf_counter()
            encoder.encode([text])
            times.append((time.perf_counter() - start) * 1000)
        print(f"{name:<16}{tokens:>7}{statistics.median(times):>9.2f}{percentile(times, 0.99):>9.2f}")
    best = min(_timed(lambda: encoder.encode(docs, max_tokens=256)) for _ in range(3))
    print(f"{len(docs)} entries (question + body, 256 tokens): {best:.2f} s")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--gap-ms", type=float, default=0.0, help="pause before each timed call")
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK)
    args = parser.parse_args()
    start = time.perf_counter()
    encoder = Encoder.load()
    print(f"load: {time.perf_counter() - start:.2f} s")
    docs = [f"{e.question}\n{e.body or e.answer}" for e in load_pack(args.pack).entries]
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        threadpool_info, threadpool_limits = (lambda: []), None
    default = max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default="?")
    for label, limit in ((f"BLAS threads: default ({default})", contextlib.nullcontext()),
                         ("BLAS threads: 1", threadpool_limits(1, "blas") if threadpool_limits else None)):
        if limit is None:
            print("threadpoolctl is not installed: one-thread run skipped")
            continue
        print(f"\n{label}")
        with limit:
            run(encoder, docs, args.runs, args.gap_ms / 1000)


if __name__ == "__main__":
    main()
