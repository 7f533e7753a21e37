"""A simulated week of group traffic: does learning from use help, and do the gaps show the real needs?

Generator (seeded, deterministic): the in-scope questions of the Docker dev set
(/work/shared/eval/dev.tsv) are split in two halves by a hash of their text.
The "traffic" half is asked during the week, each question by 1 to 6 different
people (repeats: a question that keeps coming up), in 4 Slack channels and 2
QQ groups, at random times over 7 days. Every ask goes to the real Engine; what
the asker does next depends on what the bot did:

- answered with an expected entry: 👍 with probability 0.35;
- answered with a wrong entry: 👎 with probability 0.6;
- did-you-mean list holding an expected entry: picks it with probability 0.8,
  else (0.1) picks a wrong candidate at random (noise);
- list without an expected entry: "none of these" with probability 0.3 (on every
  listed entry), else 0.1 a wrong pick;
- "don't know": nothing (a gap).

Planted needs the pack does not cover (4 needs, 3-5 wordings each) are asked by
5-9 people each; the out-of-scope dev rows are asked once each (noise gaps).
Signals go through the real SuggestionBook (auto-apply at 3 distinct people)
into the real Learner over a fresh SQLite store; questions go to the real
question log table (user ids kept, as `question_log.keep_user_ids: true`).

Reported: `faqbot eval` metrics (bot.cli.evaluate.evaluate, the engine's own
decisions) on the whole dev set, on the traffic half and on the held-out half,
before and after the week; suggestions applied by themselves (and how many
point at an entry the labels do not accept); the top gap clusters and whether
they are the planted needs.

    python benchmarks/week_sim.py [--dev /work/shared/eval/dev.tsv] [--seed 13] [--json]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli.evaluate import evaluate  # noqa: E402
from bot.cli.labels import read_rows, resolve  # noqa: E402
from bot.learning.gaps import DEFAULT_DISTANCE, gap_clusters  # noqa: E402
from bot.learning.learning import Learner  # noqa: E402
from bot.learning.question_log import logged_question  # noqa: E402
from bot.learning.suggestions import Signal, SignalKind, SuggestionBook, State  # noqa: E402
from bot.learning.usage_store import UsageStore  # noqa: E402
from bot.matching.engine import Engine  # noqa: E402
from bot.matching.normalize import normalize  # noqa: E402
from bot.matching.types import Decision, Mode  # noqa: E402
from bot.ops.config import Config, Learning, QuestionLogConfig  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACK = ROOT / "knowledge" / "docker-faq"
DEFAULT_DEV = Path("/work/shared/eval/dev.tsv")
PLANTED = {
    "hub rate limit": [
        "docker pull 报 toomanyrequests 怎么办", "拉镜像提示 You have reached your pull rate limit",
        "docker hub 拉取次数被限制了怎么破", "toomanyrequests: you have reached your pull rate limit, what now",
        "docker hub pull rate limit exceeded what to do",
    ],
    "login stores password unencrypted": [
        "docker login 提示 WARNING! Your password will be stored unencrypted", "docker login 密码明文保存在 config.json 安全吗",
        "how to stop docker login storing my password unencrypted", "docker login 之后 config.json 里有明文密码怎么办",
    ],
    "vscode dev containers": [
        "vscode devcontainer 连不上 docker", "vscode 的 dev container 启动失败怎么办",
        "dev containers extension cannot connect to docker",
    ],
    "mac docker desktop cpu": [
        "mac 上 docker desktop 占用 cpu 很高风扇狂转", "docker desktop on mac uses too much cpu",
        "mac 上 docker desktop 吃内存太厉害怎么限制",
    ],
}
CHANNELS = [("slack", "C-general"), ("slack", "C-devops"), ("slack", "C-help"), ("slack", "C-random"), ("qq", "123456"), ("qq", "654321")]


def half(text: str) -> str:
    return "traffic" if hashlib.sha1(text.encode()).digest()[0] % 2 == 0 else "held-out"


def metrics(engine: Engine, rows: list) -> dict:
    r = evaluate(engine, rows)
    return {"rows": r.rows, "in_scope": r.in_scope, "top1": round(r.top1, 4), "coverage": round(r.coverage, 4),
            "answer_precision": round(r.answer_precision, 4), "false_answer_rate": round(r.false_answer_rate, 4)}


def run(pack: Path, dev: Path, seed: int, distance: float = DEFAULT_DISTANCE) -> dict:
    rng = random.Random(seed)
    engine = Engine.from_packs([str(pack)], Config().thresholds)
    rows = read_rows(dev)
    expected = resolve(rows, engine.entries, engine.packs).expected
    labelled = [(row, {k[-1] if isinstance(k, tuple) else k for k in keys}) for row, keys in zip(rows, expected)]
    traffic = [(r, e) for r, e in labelled if r.in_scope and half(r.query) == "traffic"]
    sets = {
        "all": rows,
        "traffic half": [r for r in rows if r.in_scope and half(r.query) == "traffic"] + [r for r in rows if not r.in_scope],
        "held-out half": [r for r in rows if r.in_scope and half(r.query) == "held-out"] + [r for r in rows if not r.in_scope],
    }
    before = {name: metrics(engine, s) for name, s in sets.items()}

    data_dir = Path(tempfile.mkdtemp(prefix="faqbot-week-"))
    config = Config(data_dir=str(data_dir), learning=Learning(refit_delay_s=2.0), question_log=QuestionLogConfig(keep_user_ids=True))
    learner = Learner.open(engine, config)
    usage = UsageStore(learner.store.engine)
    book = SuggestionBook(usage, learner, people_needed=config.learning.auto_apply_people)
    start = datetime.now(timezone.utc) - timedelta(days=7)
    users = [f"U{i:03d}" for i in range(80)]

    events = []  # (at, kind, payload)
    for row, keys in traffic:
        for user in rng.sample(users, rng.choice([1, 1, 2, 2, 3, 4, 5, 6])):
            events.append((start + timedelta(seconds=rng.uniform(0, 7 * 86400)), "ask", (row.query, keys, user)))
    for need, texts in PLANTED.items():
        for user in rng.sample(users, rng.randint(5, 9)):
            events.append((start + timedelta(seconds=rng.uniform(0, 7 * 86400)), "ask", (rng.choice(texts), set(), user)))
    for row, _ in labelled:
        if not row.in_scope:
            events.append((start + timedelta(seconds=rng.uniform(0, 7 * 86400)), "ask", (row.query, set(), rng.choice(users))))
    events.sort(key=lambda e: e[0])

    counts = {"asks": 0, "answer": 0, "suggest": 0, "unknown": 0, "upvote": 0, "downvote": 0, "pick": 0, "wrong_pick": 0, "none_of_these": 0}
    started = time.perf_counter()
    for at, _, (query, keys, user) in events:
        platform, channel = CHANNELS[hash((user, seed)) % len(CHANNELS)] if rng.random() < 0.7 else rng.choice(CHANNELS)
        result = engine.ask(query, Mode.REPLY)
        counts["asks"] += 1
        record = logged_question(result, platform, channel, True, config.question_log, user, at=at)
        if record is not None:
            learner.store.log_question(record)
        def signal(kind: SignalKind, entry_id: str) -> None:
            book.record(Signal(kind, platform, channel, user, query, entry_id, at=at))
            counts[kind.value] = counts.get(kind.value, 0) + 1
        if result.decision is Decision.ANSWER:
            counts["answer"] += 1
            right = result.entry.id in keys
            if right and rng.random() < 0.35:
                signal(SignalKind.UPVOTE, result.entry.id)
            elif not right and keys and rng.random() < 0.6:
                signal(SignalKind.DOWNVOTE, result.entry.id)
        elif result.decision is Decision.SUGGEST:
            counts["suggest"] += 1
            offered = [c.entry.id for c in result.suggestions]
            good = [e for e in offered if e in keys]
            roll = rng.random()
            if good and roll < 0.8:
                signal(SignalKind.PICK, good[0])
            elif roll < 0.9 and [e for e in offered if e not in keys]:
                signal(SignalKind.PICK, rng.choice([e for e in offered if e not in keys]))
                counts["wrong_pick"] += 1
            elif not good and roll < 0.3 + 0.1:
                for e in offered:
                    signal(SignalKind.NONE_OF_THESE, e)
        else:
            counts["unknown"] += 1
    book.flush(120)
    replay_s = time.perf_counter() - started

    suggestions = book.suggestions()
    applied = [s for s in suggestions if s.state is State.APPLIED]
    accepted = {normalize(r.query): keys for r, keys in labelled}
    wrong_applied = [s for s in applied if s.kind == "alias" and s.entry_id not in accepted.get(s.query, {s.entry_id})]
    time.sleep(config.learning.refit_delay_s + 1)  # the background refit after the last teach (answers never wait for it)
    after = {name: metrics(engine, s) for name, s in sets.items()}

    clusters = gap_clusters(learner.store.questions(decisions=["unknown", "suggest", "quiet"]), engine.weights, usage.dismissed(), distance=distance)
    planted_norm = {need: {normalize(t) for t in texts} for need, texts in PLANTED.items()}
    top = []
    for c in clusters[:8]:
        need = next((n for n, texts in planted_norm.items() if set(c.queries) & texts), "")
        if not need and any(accepted.get(q) for q in c.queries):
            need = "repeated dev question the bot missed"
        top.append({"title": c.title, "people": c.people, "asked": c.asked, "questions": len(c.queries), "planted_need": need})
    found = {t["planted_need"] for t in top[: len(PLANTED)] if t["planted_need"] in PLANTED}
    everywhere = {t["planted_need"] for t in top if t["planted_need"] in PLANTED}
    learner.store.close()
    return {
        "seed": seed, "distance": distance, "pack": str(pack), "dev": str(dev), "events": counts, "replay_s": round(replay_s, 1),
        "suggestions": {"total": len(suggestions), "applied_by_themselves": len(applied),
                        "applied_aliases": sum(s.kind == "alias" for s in applied),
                        "applied_negatives": sum(s.kind == "negative" for s in applied),
                        "applied_alias_to_unaccepted_entry": len(wrong_applied),
                        "waiting": sum(s.state is State.WAITING for s in suggestions),
                        "waiting_shown_to_maintainers": len(book.waiting())},  # the rest: the bot already does that
        "before": before, "after": after,
        "top_gaps": top, "planted_needs_in_top": f"{len(found)}/{len(PLANTED)}",
        "planted_needs_in_top_8": f"{len(everywhere)}/{len(PLANTED)}",
        "top_8_all_generated_needs": all(t["planted_need"] for t in top),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pack", default=str(DEFAULT_PACK))
    parser.add_argument("--dev", default=str(DEFAULT_DEV))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--distance", type=float, default=DEFAULT_DISTANCE, help="gap clustering distance threshold")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(Path(args.pack), Path(args.dev), args.seed, args.distance)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(f"week replayed in {report['replay_s']} s: {report['events']}")
    print(f"suggestions: {report['suggestions']}")
    print(f"{'set':>14}  {'':6} {'top1':>6} {'coverage':>8} {'precision':>9} {'false':>6}")
    for name in report["before"]:
        for when in ("before", "after"):
            m = report[when][name]
            print(f"{name:>14}  {when:6} {m['top1']:6.3f} {m['coverage']:8.3f} {m['answer_precision']:9.3f} {m['false_answer_rate']:6.3f}")
    print(f"top gap clusters (new-topic needs among the top {len(PLANTED)}: {report['planted_needs_in_top']}, "
          f"among the top 8: {report['planted_needs_in_top_8']}; every top-8 cluster a generated need: {report['top_8_all_generated_needs']}):")
    for t in report["top_gaps"]:
        print(f"  {t['people']:>2} people, {t['asked']:>2} asks, {t['questions']} wordings  {t['title'][:60]}  [{t['planted_need'] or '-'}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
