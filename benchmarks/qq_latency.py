"""End-to-end latency of the QQ adapter: from the moment the fake OneBot
implementation sends a group message event @-ing the bot to the moment it
receives the bot's send_group_msg for it.

The fake implementation (a real websockets server on loopback) runs in this
process and takes both timestamps; the bot is the real `faqbot qq` process,
started with a generated config (or, with --in-process, a QQService thread in
this process, which shares the GIL with the fake but also reports the
handler's own time). Every event goes to a different group, so the per-group
send gap (left at its default of 1 s) never delays a reply: this measures the
bot, not the risk-control throttle.

Two runs:
- sequential: one event at a time, the next sent once the reply is in;
- paced: events sent at a fixed rate without waiting (open loop), which also
  shows queueing when the bot is busy.

    .venv/bin/python benchmarks/qq_latency.py [--events 1000] [--rate 100] [--pack DIR] [--in-process]
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "support")]

from adapters.qq.service import QQService  # noqa: E402
from bot.matching.engine import Engine  # noqa: E402
from bot.matching.types import Thresholds  # noqa: E402
from bot.ops.config import Config, QQConfig  # noqa: E402
from bot.ops.runtime import BotContext  # noqa: E402
from packs import write_pack  # noqa: E402
from fake_onebot import FakeOneBot, at, text  # noqa: E402
from process import faqbot_process  # noqa: E402

TOKEN = "bench"
BOT = 10001
WARMUP = 50


def questions(engine: Engine) -> list[str]:
    """What people ask: the entries' paraphrases and questions, as typed in a group."""
    asked = [q for e in engine.entries for q in (*e.aliases, e.question)]
    return asked or ["docker"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def latencies(fake: FakeOneBot, ids: list[int]) -> list[float]:
    """Seconds from each event to the bot's reply quoting it."""
    replied = {}
    for call in fake.calls_of("send_group_msg"):
        quote = call.params["message"][0]["data"]["id"]
        replied[int(quote)] = call.received
    return [replied[i] - fake.sent_at[i] for i in ids]


def send(fake: FakeOneBot, n: int, question: str) -> int:
    return fake.group_message(200_000 + n, [at(BOT), text(" " + question)], 20_000 + n % 97)


def run_sequential(fake: FakeOneBot, asked: list[str], start: int, count: int) -> list[int]:
    ids = []
    for n in range(start, start + count):
        ids.append(send(fake, n, asked[n % len(asked)]))
        fake.wait_calls("send_group_msg", n + 1, timeout=10)
    return ids


def run_paced(fake: FakeOneBot, asked: list[str], start: int, count: int, rate: float) -> tuple[list[int], float]:
    ids = []
    began = time.perf_counter()
    for i, n in enumerate(range(start, start + count)):
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        ids.append(send(fake, n, asked[n % len(asked)]))
    fake.wait_calls("send_group_msg", start + count, timeout=60)
    return ids, time.perf_counter() - began


def report(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<12} n={len(ms):<5} p50={percentile(ms, 50):6.2f} ms  p90={percentile(ms, 90):6.2f} ms  "
        f"p99={percentile(ms, 99):6.2f} ms  max={max(ms):6.2f} ms  mean={statistics.fmean(ms):6.2f} ms"
    )


def bot_process(config: Path):
    """`faqbot qq` as its own process, as it runs next to NapCat."""
    return faqbot_process("qq", "--config", str(config), env={"ONEBOT_ACCESS_TOKEN": TOKEN}, stop_timeout=10)


@contextlib.contextmanager
def bot_thread(ctx: BotContext) -> Iterator[None]:
    service = QQService(ctx, TOKEN)
    service.start()
    try:
        yield
    finally:
        service.stop(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="events per run (after a warm-up of 50)")
    parser.add_argument("--rate", type=float, default=100.0, help="events per second in the paced run")
    parser.add_argument("--pack", action="append", help="knowledge pack folder (default: the tests' sample pack)")
    parser.add_argument("--in-process", action="store_true", help="run the bot as a thread of this process")
    args = parser.parse_args()

    thresholds = Thresholds(reply=0.45, ambient=0.7, suggest=0.2)
    ctx: Optional[BotContext] = None
    with tempfile.TemporaryDirectory() as tmp:
        packs = [str(Path(p).resolve()) for p in args.pack] if args.pack else [str(write_pack(Path(tmp) / "sample"))]
        engine = Engine.from_packs(packs, thresholds)
        asked = questions(engine)
        with FakeOneBot(token=TOKEN, self_id=BOT) as fake:
            if args.in_process:
                ctx = BotContext(config=Config(packs=tuple(packs), thresholds=thresholds, qq=QQConfig(ws_url=fake.url)), engine=engine)
                bot = bot_thread(ctx)
            else:
                config = Path(tmp) / "faqbot.yaml"
                config.write_text(yaml.safe_dump({
                    "packs": packs, "thresholds": {"reply": 0.45, "ambient": 0.7, "suggest": 0.2},
                    "qq": {"ws_url": fake.url}, "reload": False,
                }), encoding="utf-8")
                bot = bot_process(config)
            with bot:
                fake.wait_connected(timeout=60)
                run_sequential(fake, asked, 0, WARMUP)
                sequential = latencies(fake, run_sequential(fake, asked, WARMUP, args.events))
                paced_ids, took = run_paced(fake, asked, WARMUP + args.events, args.events, args.rate)
                paced = latencies(fake, paced_ids)
    where = "a thread of this process" if args.in_process else "its own process (faqbot qq)"
    print(f"faqbot QQ adapter, event -> send_group_msg over loopback WebSocket; bot in {where}; "
          f"{len(engine.entries)} entries, {len(asked)} distinct questions, each event to its own group "
          f"(send gap 1 s per group never applies)")
    print(report("sequential", sequential))
    print(report(f"paced {args.rate:g}/s", paced) + f"  (sent in {took:.2f} s)")
    if ctx is not None:
        handler_ms = ctx.metrics.latency_sum / max(ctx.metrics.latency_count, 1) * 1000
        print(f"handler time per message (event read -> reply decided, from /metrics): mean {handler_ms:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
