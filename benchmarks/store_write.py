"""Store write latency: what one acknowledged write costs, on SQLite and on a local PostgreSQL.

Each kind of write is timed as the bot makes it, through `bot.store.Store`
(one process, one thread, the store's connection pool warm):

- teach:     one learning gesture: write lock, read the revision, insert a learned
             entry + its event mark + the audit record, bump the revision, COMMIT
             (the Learner's transaction without the engine's work);
- vote:      one feedback vote (delete the user's previous vote, insert);
- claim:     one event claim (a unique insert; the multi-process dedupe);
- question:  one question-log row written alone (the background writer batches them,
             so this is the worst case per row).

SQLite: a file in a temporary directory on this machine's disk, WAL, synchronous=FULL
(every commit fsynced). PostgreSQL: a server started here from the Debian package
(tests/support/pg_server.py; default settings, fsync on), over TCP on loopback, or --url.

    .venv/bin/python benchmarks/store_write.py [--writes 500] [--engines sqlite,postgresql] [--url URL] [--json]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "support")]

from bot.learning.feedback import FeedbackStore  # noqa: E402
from bot.store import AuditRecord, EventState, LearnedEntry, LoggedQuestion, Source, Store  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def timed(write: Callable[[int], None], count: int) -> dict:
    for i in range(20):  # warm-up: pool connections, statement caches
        write(-1 - i)
    took = []
    for i in range(count):
        started = time.perf_counter()
        write(i)
        took.append(time.perf_counter() - started)
    return {"p50_ms": round(percentile(took, 50) * 1000, 2), "p99_ms": round(percentile(took, 99) * 1000, 2),
            "max_ms": round(max(took) * 1000, 2), "writes": count}


def bench(store: Store, count: int) -> dict:
    def teach(i: int) -> None:
        n = 100_000 + i if i >= 0 else 50_000 - i
        key = f"bench:teach:{n}"
        entry = LearnedEntry(f"learned-{n}", n, f"问题 {n} 为什么", f"回答 {n}", Source("qq", "g1", (str(n),), ""),
                             "qq:10001", "2026-01-01T00:00:00+00:00", key)
        with store.transaction() as txn:
            txn.audit(AuditRecord("2026-01-01T00:00:00+00:00", "qq:10001", "qq", "g1", (str(n),), "teach_pair", key, "created", entry.id))
            txn.commit(txn.knowledge.with_entry(entry).marked(key, EventState.APPLIED, "t", store.keep_events))

    feedback = FeedbackStore(store)

    def vote(i: int) -> None:
        feedback.record("slack", f"U{i % 50}", "slow-pull", "docker pull is slow", "up" if i % 2 else "down", f"C1:{i}")

    def claim(i: int) -> None:
        store.claim_event(f"bench:event:{i}")

    def question(i: int) -> None:
        store.log_question(LoggedQuestion(datetime.now(timezone.utc), "slack", "C1", f"docker pull 好慢 {i}", "reply",
                                          "answer", (("docker-faq/slow-pull", 0.93), ("docker-faq/proxy", 0.41)), "docker-faq/slow-pull"))

    return {name: timed(write, count) for name, write in (("teach", teach), ("vote", vote), ("claim", claim), ("question", question))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=500, help="timed writes per kind")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--url", default="", help="an existing PostgreSQL database instead of starting one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    folder = Path(tempfile.mkdtemp(prefix="faqbot-store-bench-"))
    server = None
    try:
        for engine in args.engines.split(","):
            if engine == "sqlite":
                store = Store(folder / "sqlite")
            else:
                url = args.url
                if not url:
                    from pg_server import PostgresServer, find_bindir

                    bindir = find_bindir()
                    if bindir is None:
                        print("no PostgreSQL binaries (apt-get install postgresql): skipping postgresql", file=sys.stderr)
                        continue
                    pg_root = Path(tempfile.mkdtemp(prefix="faqbot-pg-"))  # its own: the server may run as `postgres`
                    server = PostgresServer(bindir, pg_root)
                    server.start()
                    url = server.new_database()
                store = Store(folder / "pg-data", url=url)
            store.load()
            results[engine] = bench(store, args.writes)
            store.close()
    finally:
        if server is not None:
            server.stop("immediate")
            shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{'engine':<11} {'write':<9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for engine, kinds in results.items():
            for kind, r in kinds.items():
                print(f"{engine:<11} {kind:<9} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
