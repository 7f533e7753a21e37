"""Soak: 20,000 messages through the whole deployed path, both platforms at once.

The bot is the real `faqbot run` process (the Docker entrypoint) with Slack
(Socket Mode) and QQ (forward WebSocket) enabled in one configuration, one
engine. This process plays both platforms on loopback: the mock Slack
(tests/support/slack_mock.py: Web API + Socket Mode server) and the fake OneBot
implementation (tests/support/fake_onebot.py). Messages alternate between the two, each
an @-mention the bot must reply to, with at most --window messages per platform
awaiting their reply (closed loop: the bot is kept busy, never buried).

Latency of one message: from the moment this process hands the event to the
socket (Slack envelope sent / OneBot event broadcast) to the moment the mock
receives the reply (chat.postMessage / send_group_msg), both on this process's
perf_counter. Memory: the bot's RSS (/proc/<pid>/status) after a warm-up, at
every quarter, and at the end. At the end the bot gets SIGTERM and must exit 0.
The question log is on (the default): once its background writer has caught
up, the rows in the bot's database are compared with its own counters.

    .venv/bin/python benchmarks/soak.py [--messages 20000] [--window 32] [--pack DIR] [--json]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "support")]

from packs import SAMPLE_ENTRIES, write_pack  # noqa: E402
from fake_onebot import FakeOneBot, at, text  # noqa: E402
from slack_mock import APP_TOKEN, BOT_TOKEN, MockSlack, event_callback, mention  # noqa: E402

FAQBOT = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]
TOKEN = "soak"
BOT_QQ = 10001
WARMUP = 200
GROUPS = 50
CHANNELS = 50
REPLY_TIMEOUT_S = 30.0
# answerable paraphrases, things the pack does not know, and markup-laden or long messages
OFF_TOPIC = ["how do I cook rice", "今天天气怎么样", "k8s ingress 配置", "<@U0001> ping [CQ:face,id=14] :)", "docker " * 300]


def questions(pack: Optional[Path]) -> list[str]:
    if pack is None:
        asked = [q for e in SAMPLE_ENTRIES for q in (*e["aliases"], e["question"])]
    else:
        asked = [str(yaml.safe_load(p.read_text(encoding="utf-8")).get("question", "")) for p in sorted(pack.glob("[0-9]*.yaml"))]
    return [q for q in asked if q] + OFF_TOPIC


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] if ordered else float("nan")


class Replies:
    """Replies as the mock records them, read incrementally: rescanning 20,000 records
    on every check would make this driver, not the bot, the bottleneck."""

    def __init__(self, records: list, key: Callable[[Any], Optional[str]], at: Callable[[Any], float]):
        self.records, self.key, self.at = records, key, at  # an append-only list owned by the mock
        self.read = 0
        self.done: dict[str, float] = {}

    def new(self) -> list[str]:
        end, fresh = len(self.records), []
        for record in self.records[self.read:end]:
            key = self.key(record)
            if key is not None:
                self.done[key] = self.at(record)
                fresh.append(key)
        self.read = end
        return fresh


@dataclass
class Platform:
    """One side of the conversation: how to send a message, and when each reply came."""

    name: str
    send: Callable[[str, int], None]
    replies: Replies
    sent: dict[str, float] = field(default_factory=dict)  # reply key -> when the message went out
    pending: set[str] = field(default_factory=set)

    def expect(self, key: str, at: float) -> None:
        self.sent[key] = at
        self.pending.add(key)

    def outstanding(self) -> int:
        self.pending.difference_update(self.replies.new())
        return len(self.pending)

    def latencies(self) -> list[float]:
        self.outstanding()
        done = self.replies.done
        return [done[k] - t for k, t in self.sent.items() if k in done]


def _quoted(call) -> Optional[str]:
    if call.action != "send_group_msg":
        return None
    first = call.params["message"][0]
    return str(first["data"]["id"]) if first.get("type") == "reply" else None


def qq_platform(onebot: FakeOneBot) -> Platform:
    def send(question: str, n: int) -> None:
        message_id = onebot.group_message(900_000 + n % GROUPS, [at(BOT_QQ), text(" " + question)], 20_000 + n % 97)
        platform.expect(str(message_id), onebot.sent_at[message_id])  # the fake's clock, just before the frame went out

    platform = Platform("qq", send, Replies(onebot.calls, _quoted, lambda call: call.received))
    return platform


def slack_platform(slack: MockSlack) -> Platform:
    def send(question: str, n: int) -> None:
        event = mention(question, channel=f"C{n % CHANNELS:05d}", user=f"U{n % 97:05d}")
        platform.expect(event["ts"], time.perf_counter())
        slack.socket.send("events_api", event_callback(event))

    def thread(call) -> Optional[str]:
        return str(call.params.get("thread_ts")) if call.method == "chat.postMessage" else None

    # the mock keeps its record in _state; read in place, as Replies explains
    platform = Platform("slack", send, Replies(slack._state.calls, thread, lambda call: call.at))
    return platform


def write_config(folder: Path, pack: Path, onebot: FakeOneBot) -> Path:
    config = {
        "packs": [str(pack)],
        "data_dir": str(folder / "data"),
        "http": {"host": "127.0.0.1", "port": 0},
        "slack": {"enabled": True, "mode": "socket", "workers": 8},
        "qq": {"enabled": True, "ws_url": onebot.url, "send_interval_s": 0.0, "send_backlog": 1000},
        "log": {"format": "json", "level": "INFO"},
        "reload": True,
    }
    path = folder / "faqbot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def wait_log(log: Path, pattern: str, timeout: float = 60.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found
        time.sleep(0.1)
    raise TimeoutError(f"bot log never showed {pattern!r}:\n{log.read_text()[-3000:]}")


def scrape(port: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return response.read().decode()


def metric(metrics: str, name: str) -> int:
    return int(sum(float(m) for m in re.findall(rf"^faqbot_{name}(?:{{[^}}]*}})? (\S+)$", metrics, re.M)))


def logged_rows(data_dir: Path, metrics: str) -> dict:
    """The question log as the bot left it in its database (SQLite in data_dir), against its own counters."""
    from bot.store import Store

    store = Store(data_dir)
    rows = store.questions()
    store.close()
    return {
        "rows": len(rows), "logged": metric(metrics, "questions_logged_total"),
        "dropped": metric(metrics, "question_log_dropped_total"), "failed": metric(metrics, "question_log_failed_total"),
        "answer_rows": sum(q.decision == "answer" for q in rows), "answers_counted": metric(metrics, "answers_total"),
    }


def drive(platforms: list[Platform], asked: list[str], count: int, window: int, start: int) -> None:
    """Send `count` messages round-robin over the platforms, keeping each under `window` outstanding."""
    cycle = itertools.cycle(platforms)
    for n in range(start, start + count):
        platform = next(cycle)
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while platform.outstanding() >= window:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{platform.name}: {platform.outstanding()} replies overdue")
            time.sleep(0.0005)
        platform.send(asked[n % len(asked)], n)


def settle(platforms: list[Platform]) -> None:
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while any(p.outstanding() for p in platforms) and time.monotonic() < deadline:
        time.sleep(0.01)


def run(messages: int, window: int, pack_arg: Optional[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="faqbot-soak-") as tmp, MockSlack() as slack, FakeOneBot(token=TOKEN, self_id=BOT_QQ) as onebot:
        folder = Path(tmp)
        pack = Path(pack_arg) if pack_arg else write_pack(folder / "pack")
        log = folder / "bot.log"
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": slack.api_url,
               "ONEBOT_ACCESS_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}
        with log.open("w") as err:
            bot = subprocess.Popen(FAQBOT + ["run", "--config", str(write_config(folder, pack, onebot))],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=folder)
        try:
            wait_log(log, r"faqbot running")
            port = wait_log(log, r"health and metrics on http://[\d.]+:(\d+)").group(1)
            onebot.wait_connected(timeout=30)
            slack.socket.wait_connected(timeout=30)
            platforms = [qq_platform(onebot), slack_platform(slack)]
            asked = questions(Path(pack_arg) if pack_arg else None)

            drive(platforms, asked, WARMUP, window, 0)
            settle(platforms)
            for p in platforms:
                p.sent.clear()
            rss = [("start", rss_kb(bot.pid))]
            began = time.perf_counter()
            quarter = messages // 4
            for i in range(4):
                drive(platforms, asked, quarter if i < 3 else messages - 3 * quarter, window, WARMUP + i * quarter)
                rss.append((f"{(i + 1) * 25}%", rss_kb(bot.pid)))
            settle(platforms)
            elapsed = time.perf_counter() - began
            rss.append(("end", rss_kb(bot.pid)))
            metrics = scrape(port)
            deadline = time.monotonic() + 60
            while "faqbot_question_log_pending 0" not in metrics.splitlines() and time.monotonic() < deadline:
                time.sleep(0.2)  # the question log's background writer catches up
                metrics = scrape(port)

            stopping = time.perf_counter()
            bot.send_signal(signal.SIGTERM)
            code = bot.wait(60)
            stop_s = time.perf_counter() - stopping
        finally:
            if bot.poll() is None:
                bot.kill()
                bot.wait()
        latencies = {p.name: p.latencies() for p in platforms}
        question_log = logged_rows(folder / "data", metrics)
        everything = [x for values in latencies.values() for x in values]
        counted = {m.group(1): int(float(m.group(2))) for m in re.finditer(r'faqbot_messages_total\{platform="(\w+)"\} (\S+)', metrics)}
        return {
            "messages": sum(len(p.sent) for p in platforms),
            "replies": len(everything),
            "seconds": round(elapsed, 2),
            "throughput_per_s": round(len(everything) / elapsed, 1),
            "latency_ms": {
                name: {"p50": round(percentile(v, 50) * 1000, 2), "p99": round(percentile(v, 99) * 1000, 2), "max": round(max(v) * 1000, 2)}
                for name, v in [*latencies.items(), ("all", everything)]
            },
            "rss_mb": {label: round(kb / 1024, 1) for label, kb in rss},
            "rss_growth_mb": round((rss[-1][1] - rss[0][1]) / 1024, 1),
            # the adapters' caches are bounded (Slack: 5,000 answers, 10,000 event ids, from
            # adapters/slack/answers.py and dedupe.py; QQ: 5,000 sent messages, adapters/qq/memory.py):
            # growth that shrinks quarter by quarter is them filling, not a leak
            "rss_growth_per_quarter_mb": [round((b[1] - a[1]) / 1024, 1) for a, b in zip(rss[:4], rss[1:5])],
            "bot_counted": counted,  # /metrics, warm-up included
            "window": window,
            "sigterm_exit_code": code,
            # every question asked is a row (no lost row): rows == logged, none dropped or failed,
            # and as many "answer" rows as answers counted
            "question_log": question_log,
            "sigterm_exit_s": round(stop_s, 2),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=8, help="messages per platform awaiting a reply at most")
    parser.add_argument("--pack", help="knowledge pack folder (default: the tests' sample pack)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.messages, args.window, args.pack)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{result['messages']} messages, {result['replies']} replies in {result['seconds']} s: {result['throughput_per_s']} msg/s")
        for name, stats in result["latency_ms"].items():
            print(f"  latency {name:5} p50 {stats['p50']:7.2f} ms  p99 {stats['p99']:7.2f} ms  max {stats['max']:7.2f} ms")
        print("  bot RSS (MB): " + "  ".join(f"{k} {v}" for k, v in result["rss_mb"].items()))
        print(f"  RSS growth {result['rss_growth_mb']} MB, by quarter {result['rss_growth_per_quarter_mb']}")
        print(f"  bot counted: {result['bot_counted']}; SIGTERM: exit {result['sigterm_exit_code']} in {result['sigterm_exit_s']} s")
        print(f"  question log: {result['question_log']}")
    ok = result["replies"] == result["messages"] and result["sigterm_exit_code"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
