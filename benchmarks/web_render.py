"""How long the maintainers' page takes to render each view with a big question log.

Method: a fresh SQLite store (as `faqbot run` makes it: WAL, full sync)
filled with N logged questions (default 100 000) spread over 30 days: texts
drawn from the Docker dev set with small variations, decisions roughly as a
live bot makes them (70% answered, 10% did-you-mean, 15% don't-know, 5%
ambient near-misses), 6 channels on 2 platforms, 2 000 users; plus 2 000 votes
and 3 000 usage signals. The real page (uvicorn + Starlette, bot/web) is
served on loopback with the Docker pack loaded, and each view is fetched over
HTTP with a signed session cookie, sequentially: one warm-up, then --repeat
timed requests. Reported: median, p95 and max per view (the API's default
page sizes). The overview figures, the waiting suggestions and the gap
clusters are recomputed by a background thread every 30 s (views read the
last result); that recomputation is timed separately, once each.

    python benchmarks/web_render.py [--questions 100000] [--repeat 20] [--json]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli.labels import read_rows  # noqa: E402
from bot.learning.suggestions import attach_suggestions  # noqa: E402
from bot.learning.usage_store import StoredSignal, UsageStore  # noqa: E402
from bot.ops.config import Config, WebConfig  # noqa: E402
from bot.ops.runtime import BotContext  # noqa: E402
from bot.ops.serve import build_context  # noqa: E402
from bot.store import LoggedQuestion  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "benchmark-admin-token-0123456789"
VIEWS = ["/admin/", "/admin/suggestions", "/admin/knowledge", "/admin/knowledge?q=docker", "/admin/knowledge/try?q=docker+pull+%E5%BE%88%E6%85%A2",
         "/admin/audit", "/admin/api/stats", "/admin/api/suggestions"]  # + /admin/gaps, /admin/api/gaps
DECISIONS = [("answer", 0.70), ("suggest", 0.10), ("unknown", 0.15), ("quiet", 0.05)]
CHANNELS = [("slack", "C-general"), ("slack", "C-devops"), ("slack", "C-help"), ("slack", "C-random"), ("qq", "123456"), ("qq", "654321")]
TAILS = ["", "", "", "？", " 求助", " 急", " thanks", "!!", " 大佬们"]


def fill(ctx: BotContext, questions: int, rng: random.Random) -> float:
    from sqlalchemy import insert

    from bot.store import schema as t

    rows = [r.query for r in read_rows("/work/shared/eval/dev.tsv")]
    keys = [e.key for e in ctx.engine.entries]
    now = datetime.now(timezone.utc)
    store = ctx.learner.store
    started = time.perf_counter()
    batch = []
    for i in range(questions):
        decision = rng.choices([d for d, _ in DECISIONS], [w for _, w in DECISIONS])[0]
        platform, channel = rng.choice(CHANNELS)
        top = tuple((k, round(rng.random(), 3)) for k in rng.sample(keys, 3))
        batch.append(LoggedQuestion(
            at=now - timedelta(seconds=rng.uniform(0, 30 * 86400)), platform=platform, channel=channel,
            text=rng.choice(rows).lower() + rng.choice(TAILS), mode="ambient" if decision == "quiet" else "reply",
            decision=decision, top=top, answered=top[0][0] if decision == "answer" else "", user=f"U{rng.randrange(2000)}",
        ))
        if len(batch) == 5000:
            store.log_questions(batch)
            batch = []
    store.log_questions(batch)
    with store.engine.begin() as conn:
        conn.execute(insert(t.feedback_votes), [
            dict(platform="slack", user=f"U{i}", entry_id=rng.choice(ctx.engine.entries).id, query=rng.choice(rows),
                 vote=rng.choice(["up", "up", "down"]), answer=f"C1:{i}", at=now.isoformat()) for i in range(2000)])
    usage = UsageStore(store.engine)
    for i in range(3000):
        usage.add_signal(StoredSignal(rng.choice(["pick", "upvote", "downvote", "share"]), "slack", "C-help", f"U{rng.randrange(300)}",
                                      rng.choice(rows), rng.choice(rows).lower()[:80], rng.choice(ctx.engine.entries).id, now))
    return time.perf_counter() - started


def fetch(url: str, cookie: str) -> tuple[float, int, int]:
    request = urllib.request.Request(url, headers={"Cookie": f"faqbot_admin={cookie}"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
        status = response.status
    return (time.perf_counter() - t0) * 1000, status, len(body)


def summary(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1), "max_ms": round(max(ms), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pack", default=str(ROOT / "knowledge" / "docker-faq"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(13)
    data_dir = tempfile.mkdtemp(prefix="faqbot-web-bench-")
    config = Config(packs=(args.pack,), data_dir=data_dir, web=WebConfig(enabled=True, port=0, secure_cookies=False))
    ctx = build_context(config)
    attach_suggestions(ctx)
    fill_s = fill(ctx, args.questions, rng)

    from bot.web.auth import Auth
    from bot.web.service import WebService

    web = WebService(ctx, token=TOKEN)
    web.start()
    base = f"http://127.0.0.1:{web.port}"
    _, cookie = Auth(TOKEN, 3600).new_session("bench")
    report = {"questions": args.questions, "fill_s": round(fill_s, 1), "repeat": args.repeat, "views": {}}
    try:
        # what the background refresher does every 30 s (no view waits for it): timed here, once each
        report["background_refresh_ms"] = {}
        for name, snap in (("overview figures", web.deps.stats), ("waiting suggestions", web.deps.waiting), ("gap clusters", web.deps.gaps)):
            t0 = time.perf_counter()
            snap.refresh(force=True)
            report["background_refresh_ms"][name] = round((time.perf_counter() - t0) * 1000, 1)
        report["gap_clusters"] = len(web.deps.gaps.clusters())
        for view in ["/admin/gaps", "/admin/api/gaps", *VIEWS]:
            fetch(base + view, cookie)  # warm-up
            times = []
            for _ in range(args.repeat):
                ms, status, size = fetch(base + view, cookie)
                times.append(ms)
            report["views"][view] = {**summary(times), "status": status, "bytes": size}
    finally:
        web.stop(5)
        ctx.learner.store.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(f"{args.questions} logged questions (filled in {report['fill_s']} s); {args.repeat} timed requests per view after one warm-up")
    for view, r in report["views"].items():
        print(f"{view:>40}: median {r['median_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f}  max {r['max_ms']:7.1f}  ({r['bytes']} bytes, HTTP {r['status']})")
    print("background recomputation (every 30 s, off the request path): "
          + ", ".join(f"{k} {v:.0f} ms" for k, v in report["background_refresh_ms"].items()) + f"; {report['gap_clusters']} gap clusters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
