"""`faqbot bench`: cold start, match latency, throughput and peak memory.

Method: cold start is the wall time to load the pack from disk and build the
index in this process (interpreter and library imports are reported apart as
`import_s`). Latency is measured per `Engine.ask` call with perf_counter over a
fixed query set: each entry's phrasings with a typo, chit-chat, and long pasted
error output, cycled to the requested count after a warm-up. The set is timed in
several passes; p50 and p99 are the median pass's (one pass's p99 on a shared
machine moves with its neighbours), with the range of the passes' p99.
Throughput is queries per second over all passes on one thread. Peak RSS is the process
high-water mark (ru_maxrss) after each stage, so the real pack's figure is
taken before the synthetic pack is built.
"""
from __future__ import annotations

import random
import resource
import statistics
import subprocess
import sys
import time
from typing import Sequence

from ..knowledge.pack import load_pack
from ..matching.engine import Engine
from ..matching.types import Entry, Thresholds

_CHITCHAT = ["大家好，新人报道", "有人在吗", "thanks, that worked!", "哈哈哈哈", "anyone around?", "收到，我试试"]
_PASTE = (
    "Error response from daemon: driver failed programming external connectivity on endpoint web "
    "(3f2a): Error starting userland proxy: listen tcp 0.0.0.0:80: bind: address already in use\n"
) * 8


def _import_seconds() -> float:
    """What a fresh interpreter spends importing the engine (scikit-learn mostly)."""
    code = "import time; t = time.perf_counter(); import bot.matching.engine; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    try:
        return round(float(out.stdout.strip()), 3)
    except ValueError:
        return -1.0


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1 :]


def make_queries(entries: Sequence[Entry], count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    base: list[str] = []
    for entry in entries:
        for text in (entry.question, *entry.aliases[:3]):
            base.append(_typo(text, rng))
    base += _CHITCHAT + [_PASTE]
    rng.shuffle(base)
    return [base[i % len(base)] for i in range(count)]


def synthetic_entries(count: int, seed: int = 11) -> list[Entry]:
    """A pack of `count` entries written from a made-up lexicon.

    Text is drawn word by word (Zipf-like: a few common words, a long tail), with
    Chinese words of 2–3 characters and English words of 3–9 letters, as real FAQ
    text is; a sequence of random characters would inflate the character n-gram
    vocabulary far beyond anything a real pack has.
    """
    rng = random.Random(seed)
    hanzi = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]
    zh_words = ["".join(rng.choice(hanzi) for _ in range(rng.randint(2, 3))) for _ in range(8000)]
    en_words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(8000)]
    weights = [1.0 / (rank + 1) for rank in range(8000)]

    def zh(n: int) -> str:
        return "".join(rng.choices(zh_words, weights, k=n))

    def en(n: int) -> str:
        return " ".join(rng.choices(en_words, weights, k=n))

    entries = []
    for i in range(count):
        topic = f"{rng.choice(en_words)} --{rng.choice(en_words)}"
        entries.append(
            Entry(
                id=f"syn-{i}",
                n=i + 1,
                question=f"{zh(5)} {topic}？",
                answer=f"{zh(15)} `{topic}`",
                answer_en=f"{en(12)} {topic}",
                aliases=tuple([f"{zh(4)} {topic}" for _ in range(3)] + [f"{en(6)} {topic}" for _ in range(3)]),
                keywords=(topic, rng.choice(en_words) + "." + rng.choice(en_words)),
                body=f"{zh(50)} {en(30)}",
            )
        )
    return entries


def _percentile_ms(sorted_latencies: Sequence[float], p: float) -> float:
    return round(sorted_latencies[min(len(sorted_latencies) - 1, int(p * len(sorted_latencies)))] * 1000, 3)


def _measure(engine: Engine, queries: Sequence[str], passes: int = 5) -> dict:
    for q in queries[: min(200, len(queries))]:  # warm caches and lazy imports
        engine.ask(q)
    p50s: list[float] = []
    p99s: list[float] = []
    total = 0.0
    for _ in range(max(passes, 1)):
        latencies = []
        started = time.perf_counter()
        for q in queries:
            t = time.perf_counter()
            engine.ask(q)
            latencies.append(time.perf_counter() - t)
        total += time.perf_counter() - started
        latencies.sort()
        p50s.append(_percentile_ms(latencies, 0.50))
        p99s.append(_percentile_ms(latencies, 0.99))
    return {
        "p50_ms": statistics.median(p50s),
        "p99_ms": statistics.median(p99s),
        "p99_range_ms": [min(p99s), max(p99s)],
        "passes": len(p99s),
        "throughput": round(len(queries) * len(p99s) / total, 1),
        "queries": len(queries),
    }


def run_bench(
    packs: Sequence[str], thresholds: Thresholds, entries: int = 0, queries: int = 2000, passes: int = 5
) -> dict:
    """The given packs, then (only when `entries` > 0) a synthetic pack of that many entries."""
    import_s = _import_seconds()
    t = time.perf_counter()
    loaded = [load_pack(p) for p in packs]
    engine = Engine([e for p in loaded for e in p.entries], thresholds, packs=loaded)
    cold = round(time.perf_counter() - t, 3)
    real = {"entries": len(engine.entries), "cold_start_s": cold, **_measure(engine, make_queries(engine.entries, queries), passes)}
    real["rss_mb"] = _peak_rss_mb()
    result = {**real, "packs": [p.info.name for p in loaded], "import_s": import_s}
    if entries > 0:
        synthetic = synthetic_entries(entries)
        t = time.perf_counter()
        big = Engine(synthetic, thresholds)
        cold = round(time.perf_counter() - t, 3)
        stats = _measure(big, make_queries(synthetic, queries), passes)
        result["synthetic"] = {"entries": entries, "cold_start_s": cold, **stats, "rss_mb": _peak_rss_mb()}
    return result


def format_bench(result: dict) -> str:
    label = ",".join(result.get("packs", [])) or "packs"  # the packs measured, by name
    w = max(12, len(label))
    lines = [f"{'pack':<{w}} {'entries':>7} {'cold s':>7} {'p50 ms':>7} {'p99 ms':>7} {'p99 range':>13} {'msg/s':>8} {'peak RSS MB':>11}"]
    for name, r in ((label, result), ("synthetic", result.get("synthetic"))):
        if r:
            low, high = r["p99_range_ms"]
            lines.append(
                f"{name:<{w}} {r['entries']:>7} {r['cold_start_s']:>7.3f} {r['p50_ms']:>7.3f} {r['p99_ms']:>7.3f} "
                f"{f'{low:.2f}–{high:.2f}':>13} {r['throughput']:>8.1f} {r['rss_mb']:>11.1f}"
            )
    lines.append(
        f"(a fresh interpreter also spends {result['import_s']:.2f} s importing the engine; "
        f"{result['queries']} queries per pass, {result['passes']} passes per pack, latencies are the "
        "median pass's; one thread)"
    )
    return "\n".join(lines)
