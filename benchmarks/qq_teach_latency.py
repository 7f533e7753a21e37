"""Teaching over QQ, end to end: from the moment the fake OneBot sends a maintainer's
teach reaction notice to the moment it receives the bot's send_group_msg answering
the next @ question with the taught answer.

Method: the fake OneBot implementation (a real websockets server on loopback) runs
in this process and takes both timestamps. The bot is a QQService thread of this
process (default) or `faqbot run` as its own process (--process), either way with
the Docker pack (knowledge/docker-faq), a Learner over a fresh temporary data
directory (every teach is one committed transaction in the SQLite store, with its
audit record) and the production learning settings (background refit 2 s after a
burst). For each event, in a group of its own:

1. Alice's question and Bob's reply to it arrive as group messages (not timed);
2. t0; the fake sends the maintainer's teach reaction on Bob's reply, alternately
   as NapCat (`group_msg_emoji_like`) and Lagrange (`reaction`) report it;
3. at once, without waiting for any acknowledgement, Carol @s the bot with Alice's question;
4. t1: the fake receives the send_group_msg quoting Carol's message. Its text
   must begin with the taught answer, or the event counts as a miss.

Reported: t1 - t0 ("notice -> taught answer"), and t(✅ set_msg_emoji_like
received) - t0 ("notice -> ✅"). The bot reads both messages back with get_msg,
learns, and only then answers Carol, because a question waits for the teaching
gestures that came before it in its group. Questions are three made-up words
each, so every event creates a new entry (none becomes an alias of an earlier
one) and every one brings words the pack never uses, the slow case: the learner
refits the index at once so the very next question is answered. Events are
sequential (the next once the answer is in), each in its own group so the
per-group send gap (1 s, left at its default) never delays an answer.

    .venv/bin/python benchmarks/qq_teach_latency.py [--events 120] [--pack DIR] [--process] [--json]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "support")]

from adapters.qq.service import QQService  # noqa: E402
from bot.learning.learning import Learner  # noqa: E402
from bot.matching.engine import Engine  # noqa: E402
from bot.ops.config import Config, Maintainers, QQConfig  # noqa: E402
from bot.ops.runtime import BotContext  # noqa: E402
from fake_onebot import FakeOneBot, at, reply, text  # noqa: E402
from process import faqbot_process  # noqa: E402

TOKEN = "bench"
BOT, MAINTAINER, ALICE, BOB, CAROL = 10001, 30001, 20001, 20002, 20003
TEACH_EMOJI = "76"  # the default learning.qq_teach_emoji
DEFAULT_PACK = REPO / "knowledge" / "docker-faq"
WARMUP = 5


def made_up_pairs(count: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiou") for _ in range(3))

    return [(f"{word()} {word()} {word()} 怎么办", f"先升级 {word()}，再重启（第 {i} 号答案）") for i in range(count)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p90_ms": round(percentile(ms, 90), 1),
        "p99_ms": round(percentile(ms, 99), 1), "max_ms": round(max(ms), 1), "mean_ms": round(statistics.fmean(ms), 1),
    }


def teach_and_ask(fake: FakeOneBot, n: int, question: str, answer: str) -> tuple[float, float, bool]:
    """One event: (notice -> taught answer, notice -> ✅, whether the answer was the taught one)."""
    group = 300_000 + n
    asked = fake.group_message(group, [text(question)], ALICE)
    answered = fake.group_message(group, [reply(asked), at(ALICE), text(" " + answer)], BOB)
    sends, acks = len(fake.calls_of("send_group_msg")), len(fake.calls_of("set_msg_emoji_like"))
    t0 = time.perf_counter()
    if n % 2:
        fake.lagrange_reaction(group, answered, MAINTAINER, TEACH_EMOJI)
    else:
        fake.napcat_reaction(group, answered, MAINTAINER, int(TEACH_EMOJI))
    again = fake.group_message(group, [at(BOT), text(" " + question)], CAROL)
    fake.wait_calls("send_group_msg", sends + 1, timeout=30)
    fake.wait_calls("set_msg_emoji_like", acks + 1, timeout=30)
    call = fake.calls_of("send_group_msg")[sends]
    ack = fake.calls_of("set_msg_emoji_like")[acks]
    message = call.params["message"]
    right = str(message[0]["data"]["id"]) == str(again) and message[-1]["data"]["text"].startswith(answer)
    return call.received - t0, ack.received - t0, right


@contextlib.contextmanager
def bot_thread(fake: FakeOneBot, pack: Path, data_dir: Path) -> Iterator[None]:
    config = Config(
        packs=(str(pack),), data_dir=str(data_dir), maintainers=Maintainers(qq=(str(MAINTAINER),)),
        qq=QQConfig(enabled=True, ws_url=fake.url),
    )
    engine = Engine.from_packs(config.packs, config.thresholds)
    service = QQService(BotContext(config=config, engine=engine, learner=Learner.open(engine, config)), TOKEN)
    service.start()
    try:
        yield
    finally:
        service.stop(5)


@contextlib.contextmanager
def bot_process(fake: FakeOneBot, pack: Path, data_dir: Path) -> Iterator[None]:
    """`faqbot run` with only QQ enabled, as the Docker image runs it."""
    config = data_dir.parent / "faqbot.yaml"
    config.write_text(yaml.safe_dump({
        "packs": [str(pack)], "data_dir": str(data_dir), "reload": False, "http": {"enabled": False},
        "maintainers": {"qq": [str(MAINTAINER)]}, "qq": {"enabled": True, "ws_url": fake.url},
    }), encoding="utf-8")
    with faqbot_process("run", "--config", str(config), env={"ONEBOT_ACCESS_TOKEN": TOKEN}):
        yield


def run(events: int, pack: Path, in_process: bool) -> dict:
    pairs = made_up_pairs(WARMUP + events)
    with tempfile.TemporaryDirectory(prefix="faqbot-qq-teach-bench-") as tmp, FakeOneBot(token=TOKEN, self_id=BOT) as fake:
        bot = bot_thread if in_process else bot_process
        with bot(fake, pack, Path(tmp) / "data"):
            fake.wait_connected(timeout=60)
            for n in range(WARMUP):
                teach_and_ask(fake, n, *pairs[n])
            timed = [teach_and_ask(fake, n, *pairs[n]) for n in range(WARMUP, WARMUP + events)]
            get_msg = len(fake.calls_of("get_msg"))
    answered = [t for t, _, right in timed if right]
    return {
        "bot": "a QQService thread of this process" if in_process else "its own process (faqbot run)",
        "pack": str(pack),
        "events": events,
        "missed": len(timed) - len(answered),
        "get_msg_calls": get_msg,
        "notice_to_taught_answer": summary(answered or [float("nan")]),
        "notice_to_ack": summary([a for _, a, _ in timed]),
        "first_half": summary(answered[: len(answered) // 2] or [float("nan")]),
        "second_half": summary(answered[len(answered) // 2:] or [float("nan")]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=120, help=f"timed teach events (at least 100; after {WARMUP} warm-up ones)")
    parser.add_argument("--pack", default=str(DEFAULT_PACK))
    parser.add_argument("--process", action="store_true", help="run the bot as `faqbot run` in its own process")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(max(args.events, 1), Path(args.pack).resolve(), not args.process)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(f"QQ teach reaction -> next @ answered with the taught pair; bot in {report['bot']}; "
          f"pack {report['pack']}; {report['events']} events, {report['missed']} not answered with the taught answer; "
          f"{report['get_msg_calls']} get_msg calls")
    for name in ("notice_to_taught_answer", "notice_to_ack", "first_half", "second_half"):
        s = report[name]
        print(f"{name:>24}: p50 {s['p50_ms']:7.1f} ms  p90 {s['p90_ms']:7.1f}  p99 {s['p99_ms']:7.1f}  "
              f"max {s['max_ms']:7.1f}  mean {s['mean_ms']:7.1f}  (n={s['n']})")
    return 1 if report["missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
