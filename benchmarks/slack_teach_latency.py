"""Teaching through Slack end to end: a maintainer's 📚 reaction to the next @mention answered with it.

Method: the real Slack service (slack-bolt App + HTTP server, or Socket Mode
client) runs against tests/support/slack_mock.py on 127.0.0.1, with a real Learner
over a fresh temporary data directory (every teach is one committed transaction
in the SQLite store, with its audit record) and a real pack (default: the Docker FAQ). For each of N
question/answer pairs (those of benchmarks/teach_latency.py) the mock holds a
question and a reply in its thread; then, one event at a time:

  t0  just before the reaction_added event is dispatched (signed HTTP request,
      or Socket Mode envelope) for the 📚 on the reply;
  t1  the mock receives the bot's ✅ (reactions.add): the bot read both
      messages back (conversations.replies), fetched the permalink and the
      Learner committed the pair;
  t2  an app_mention with the taught question is dispatched at once;
  t3  the mock receives the bot's chat.postMessage answering that mention.

It reports t3 - t0 (reaction to answered), t1 - t0 (teach) and t3 - t2 (the
mention), and checks every answer: it must name the entry the bot's private
acknowledgement named, and carry the taught answer when a new entry was made
(a question the pack already answers becomes an alias of that entry instead,
and the mention gets that entry). The background refit runs as in production
(learning.refit_delay_s) and competes for the CPU.

    .venv/bin/python benchmarks/slack_teach_latency.py [--events 200] [--transport http|socket] [--pack DIR] [--json]
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support"), str(Path(__file__).resolve().parent)]

from bot.learning.learning import Learner  # noqa: E402
from bot.ops.config import Config, Maintainers, SlackConfig  # noqa: E402
from bot.ops.runtime import BotContext  # noqa: E402
from slack_mock import BotUnderTest, Call, MockSlack, mention, reaction, shown  # noqa: E402
from teach_latency import DEFAULT_PACK, load_engine, pairs, summary, summary_line  # noqa: E402

CHANNEL = "CTEACH"
MAINTAINER, ASKER, HELPER = "UMAINT", "UASKER", "UHELPER"
ENTRY_NUMBER = re.compile(r"#(\d+)")


def _acknowledged(mock: MockSlack, seen: int, timeout: float = 30.0) -> str:
    """The maintainer's private acknowledgement of the gesture just made."""
    [note] = mock.wait_for("chat.postEphemeral", count=seen + 1, timeout=timeout)[seen:]
    return shown(note)


def _answer_to(mock: MockSlack, asked: dict, dispatch) -> tuple[float, Call]:
    """Dispatch the mention; (when it was dispatched, the bot's answer to it)."""
    posted = len(mock.calls("chat.postMessage"))
    sent = time.perf_counter()
    dispatch()
    while True:  # the answer in the mention's thread, whatever else the bot posts meanwhile
        posted += 1
        call = mock.wait_for("chat.postMessage", count=posted, timeout=30)[-1]
        if call.params.get("thread_ts") == asked["ts"]:
            return sent, call


def run(transport: str, pack: Path, events: int, warmup: int) -> dict:
    engine = load_engine(pack)
    with tempfile.TemporaryDirectory(prefix="faqbot-slack-teach-") as data, MockSlack() as mock:
        config = Config(data_dir=data, slack=SlackConfig(mode=transport), maintainers=Maintainers(slack=(MAINTAINER,)))
        ctx = BotContext(config, engine)
        ctx.learner = Learner.open(engine, config)
        bot = BotUnderTest(mock, ctx, transport).start()
        total, teach, ask = [], [], []
        outcomes: Counter = Counter()
        wrong: list[str] = []
        try:
            for i, (question, answer) in enumerate(pairs(warmup + events)):
                root = mock.add_message(question, CHANNEL, user=ASKER)
                reply = mock.add_message(answer, CHANNEL, user=HELPER, thread_ts=root)
                acks, notes = len(mock.calls("reactions.add")), len(mock.calls("chat.postEphemeral"))
                t0 = time.perf_counter()
                bot.event(reaction("books", CHANNEL, reply, user=MAINTAINER, item_user=HELPER))
                t1 = mock.wait_for("reactions.add", count=acks + 1, timeout=30)[acks].at
                note = _acknowledged(mock, notes)
                asked = mention(question, channel=CHANNEL, user=ASKER)
                t2, answered = _answer_to(mock, asked, lambda: bot.event(asked))
                created = "Learned" in note or "学会了" in note
                number = ENTRY_NUMBER.search(note)
                text = shown(answered)
                if number is None or f"#{number.group(1)} " not in text or (created and answer.split("（")[0][:20] not in text):
                    wrong.append(f"{question!r}: ack {note!r}, answer {text[:120]!r}")
                if i < warmup:
                    continue
                outcomes["created" if created else "alias_added"] += 1
                total.append((answered.at - t0) * 1000)
                teach.append((t1 - t0) * 1000)
                ask.append((answered.at - t2) * 1000)
            bot.idle()
        finally:
            bot.stop()
        size = sum(f.stat().st_size for f in Path(data).glob("faqbot.db*"))  # the store's SQLite database and its WAL
    return {
        "transport": transport,
        "pack": str(pack),
        "pack_entries": len(engine.pack_entries),
        "events": len(total),
        "warmup": warmup,
        "outcomes": dict(outcomes),
        "answers_not_matching_the_teach": len(wrong),
        "examples_not_matching": wrong[:3],
        "reaction_to_answered": summary(total),
        "reaction_to_ack": summary(teach),
        "mention_to_answer": summary(ask),
        "database_bytes": size,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transport", choices=("http", "socket"), default="http")
    parser.add_argument("--pack", default=str(DEFAULT_PACK))
    parser.add_argument("--events", type=int, default=200, help="measured teach events (>= 100 for a p99)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # a log line per message would dominate the timing
    report = run(args.transport, Path(args.pack), args.events, args.warmup)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(f"{report['events']} teach events over Slack ({report['transport']}), pack {report['pack']} ({report['pack_entries']} entries)")
    print(f"outcomes: {report['outcomes']}; answers not matching the teach: {report['answers_not_matching_the_teach']}")
    for example in report["examples_not_matching"]:
        print(f"  e.g. {example}")
    for name in ("reaction_to_answered", "reaction_to_ack", "mention_to_answer"):
        print(summary_line(name, report[name], width=22))
    print(f"database after the run: {report['database_bytes']} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
