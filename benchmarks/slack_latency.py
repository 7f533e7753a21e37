"""End-to-end latency of the Slack adapter against the mock Slack on loopback.

Runs the real service (slack-bolt App + HTTP server, or Socket Mode client)
against tests/support/slack_mock.py, dispatches app_mention events and measures, per
event, the time from dispatch (just before the signed HTTP request is sent, or
the Socket Mode envelope is pushed) to the moment the mock Web API receives
the matching chat.postMessage (matched by thread_ts). Prints p50/p90/p99/max.

    .venv/bin/python benchmarks/slack_latency.py                 # 600 events, HTTP, one at a time
    .venv/bin/python benchmarks/slack_latency.py --transport socket
    .venv/bin/python benchmarks/slack_latency.py --concurrency 8 --events 2000

Uses the 6-entry sample pack of the tests unless --pack is given.
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

from bot.matching.engine import Engine  # noqa: E402
from bot.ops.config import Config, SlackConfig  # noqa: E402
from bot.ops.runtime import BotContext  # noqa: E402
from slack_mock import BotUnderTest, MockSlack, mention  # noqa: E402

QUERIES = (
    "docker pull is very slow",
    "how to run docker without sudo",
    "my container stops right after it starts",
    "volume vs bind mount",
    "拉镜像太慢了",
    "容器开机自启",
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def run(transport: str, events: int, warmup: int, concurrency: int, pack: str) -> dict:
    engine = Engine.from_packs([pack])
    with tempfile.TemporaryDirectory() as data, MockSlack() as mock:
        ctx = BotContext(Config(packs=(pack,), data_dir=data, slack=SlackConfig(mode=transport)), engine)
        bot = BotUnderTest(mock, ctx, transport, workers=max(concurrency, 4)).start()
        sent: dict[str, float] = {}
        lock = threading.Lock()

        def dispatch(i: int) -> None:
            event = mention(QUERIES[i % len(QUERIES)], channel=f"C{i % 50:04d}")
            with lock:
                sent[event["ts"]] = time.perf_counter()
            bot.event(event)

        try:
            total = warmup + events
            began = time.perf_counter()
            if concurrency <= 1:
                for i in range(total):
                    dispatch(i)
                    mock.wait_for("chat.postMessage", count=i + 1, timeout=30)
            else:
                with ThreadPoolExecutor(concurrency) as pool:
                    list(pool.map(dispatch, range(total)))
                mock.wait_for("chat.postMessage", count=total, timeout=120)
            bot.idle()
            elapsed = time.perf_counter() - began
        finally:
            bot.stop()
        posts = mock.calls("chat.postMessage")
    answered = [c for c in posts if c.params.get("thread_ts") in sent]
    if len(answered) != total:
        raise RuntimeError(f"{len(answered)} answers for {total} events")
    # the warm-up is dropped by dispatch order, not by speed
    in_order = sorted(answered, key=lambda c: sent[c.params["thread_ts"]])[warmup:]
    measured = [(c.at - sent[c.params["thread_ts"]]) * 1000 for c in in_order]
    return {
        "transport": transport,
        "events": len(measured),
        "concurrency": concurrency,
        "p50_ms": round(percentile(measured, 50), 2),
        "p90_ms": round(percentile(measured, 90), 2),
        "p99_ms": round(percentile(measured, 99), 2),
        "max_ms": round(max(measured), 2),
        "mean_ms": round(statistics.fmean(measured), 2),
        # with concurrency > 1 events arrive faster than they are answered: latency then
        # includes queueing, and this is the figure that matters
        "throughput_per_s": round(total / elapsed, 1),
        "method": (
            "real slack-bolt App in adapters.slack.service against tests/support/slack_mock.py on 127.0.0.1; "
            + ("signed HTTP POST to /slack/events" if transport == "http" else "Socket Mode envelope over the mock websocket")
            + "; latency = dispatch -> chat.postMessage received by the mock (matched by thread_ts)"
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transport", choices=("http", "socket"), default="http")
    parser.add_argument("--events", type=int, default=600, help="measured events (>= 500 for the report)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=1, help="events in flight at once (1: one at a time)")
    parser.add_argument("--pack", help="knowledge pack folder (default: the tests' sample pack)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # one log line per message would dominate the timing
    with tempfile.TemporaryDirectory() as tmp:
        pack = args.pack
        if not pack:
            from packs import write_pack

            pack = str(write_pack(Path(tmp) / "sample-pack"))
        result = run(args.transport, args.events, args.warmup, args.concurrency, pack)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['events']} app_mention events, {result['transport']}, concurrency {result['concurrency']}")
        print(f"  p50 {result['p50_ms']} ms   p90 {result['p90_ms']} ms   p99 {result['p99_ms']} ms   max {result['max_ms']} ms   mean {result['mean_ms']} ms")
        print(f"  throughput {result['throughput_per_s']} events/s")
        print(f"  method: {result['method']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
