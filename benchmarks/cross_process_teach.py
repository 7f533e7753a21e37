"""Teach on one process, answered by another: how long until the second bot knows.

Two real `faqbot run` processes share one database (a PostgreSQL server started
here from the Debian package, as in tests/support/pg_server.py, or --engine sqlite: one
SQLite file both open). Both run Slack in HTTP mode against the mock Slack of
the tests, each on its own port, as two replicas behind a load balancer.

Each round: `/faq add <question> | <answer>` goes to process A; the clock starts
when A's acknowledgement ("Learned #n") reaches the mock Slack. Then this
script @-mentions process B with the question, one mention at a time, each
waiting for B's reply, until a reply carries the new answer; the clock stops
when that reply reaches the mock. Every question names a product the packs
never mention, so B cannot answer it before it has applied the change and
refitted its index (the slow path, on purpose); made of such names only, no
question shares words with another, so none is taken for a phrasing of an
earlier one. Resolution: one round trip to
B (a few ms to tens of ms).

    .venv/bin/python benchmarks/cross_process_teach.py [--events 50] [--engine postgresql|sqlite] [--pack DIR] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "support")]

from slack_mock import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, MockSlack, command_form, event_callback, http_body  # noqa: E402
from slack_mock import mention, post, shown, signed_headers  # noqa: E402
from soak import percentile, wait_log  # noqa: E402  (this folder is on sys.path when a script runs)

FAQBOT = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]
SYLLABLES = ["qor", "vex", "lum", "dra", "zin", "tak", "pel", "mor", "kex", "vul", "syn", "bro", "tiv", "nar"]


def deliver(port: int, kind: str, payload: dict) -> None:
    body, content_type = http_body(kind, payload)
    status, _ = post(f"http://127.0.0.1:{port}/slack/events", body, content_type, signed_headers(body))
    if status != 200:
        raise RuntimeError(f"HTTP {status} from the bot on port {port}")


def wait_call(slack: MockSlack, method: str, after: int, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = slack.calls(method)
        if len(calls) > after:
            return calls[after]
        time.sleep(0.002)
    raise TimeoutError(f"no {method} after {after}")


def run(events: int, engine: str, pack: str) -> dict:
    rng = random.Random(12)
    work = Path(tempfile.mkdtemp(prefix="faqbot-xteach-"))
    server = None
    bots: list[subprocess.Popen] = []
    try:
        if engine == "postgresql":
            from pg_server import PostgresServer, find_bindir

            bindir = find_bindir()
            if bindir is None:
                raise SystemExit("no PostgreSQL binaries: apt-get install postgresql (or --engine sqlite)")
            server = PostgresServer(bindir, Path(tempfile.mkdtemp(prefix="faqbot-pg-")))
            server.start()
            url = server.new_database()
        else:
            url = f"sqlite:///{work / 'shared.db'}"
        with MockSlack() as slack:
            ports = []
            for name in ("a", "b"):
                folder = work / name
                folder.mkdir()
                config = {
                    "packs": [str(Path(pack).resolve())], "data_dir": str(folder / "data"), "http": {"enabled": False},
                    "slack": {"enabled": True, "mode": "http", "host": "127.0.0.1", "port": 0},
                    "maintainers": {"slack": ["U0001"]}, "database": {"url": url},
                }
                (folder / "faqbot.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
                env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "PYTHONPATH": str(REPO),
                       "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url}
                env.pop("FAQBOT_DATABASE_URL", None)
                log = folder / "bot.log"
                with log.open("w") as err:
                    bots.append(subprocess.Popen(FAQBOT + ["run", "--config", str(folder / "faqbot.yaml")], stdin=subprocess.DEVNULL,
                                                 stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=folder))
                wait_log(log, r"faqbot running")
                ports.append(int(wait_log(log, r"events at http://127\.0\.0\.1:(\d+)/slack/events").group(1)))
            a, b = ports
            took, polls = [], []
            for i in range(events):
                product = "".join(rng.sample(SYLLABLES, 3)) + str(i)
                question = " ".join([product, "".join(rng.sample(SYLLABLES, 2)) + f"x{i}", f"err{rng.randint(1000, 9999)}z{i}"])
                answer = f"答案 {product} {uuid.uuid4().hex[:8]}"
                acks = len(slack.calls("chat.postEphemeral"))
                deliver(a, "slash_commands", command_form(f"add! {question} | {answer}"))  # add!: a new entry, never an alias
                ack = wait_call(slack, "chat.postEphemeral", acks)
                if "Learned #" not in shown(ack) and "学会了" not in shown(ack):
                    raise RuntimeError(f"not learned: {shown(ack)}")
                started = ack.at
                n = 0
                while True:
                    n += 1
                    before = len(slack.calls("chat.postMessage"))
                    deliver(b, "events_api", event_callback(mention(question), f"Ev{uuid.uuid4().hex[:12]}"))
                    reply = wait_call(slack, "chat.postMessage", before)
                    if answer in shown(reply):
                        took.append(reply.at - started)
                        polls.append(n)
                        break
                    if reply.at - started > 30:
                        raise TimeoutError(f"B never answered {question!r}")
        return {
            "engine": engine, "events": len(took),
            "p50_ms": round(percentile(took, 50) * 1000, 1), "p90_ms": round(percentile(took, 90) * 1000, 1),
            "p99_ms": round(percentile(took, 99) * 1000, 1), "max_ms": round(max(took) * 1000, 1),
            "mentions_to_b_median": sorted(polls)[len(polls) // 2],
        }
    finally:
        for bot in bots:
            bot.terminate()
        for bot in bots:
            try:
                bot.wait(20)
            except subprocess.TimeoutExpired:
                bot.kill()
        if server is not None:
            server.stop("immediate")
            shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pack", default=str(REPO / "knowledge" / "docker-faq"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.events, args.engine, args.pack)
    print(json.dumps(result, indent=2) if args.json else
          f"{result['engine']}: {result['events']} pairs taught on A, answered by B after "
          f"p50 {result['p50_ms']} ms, p90 {result['p90_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
