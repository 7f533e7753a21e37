"""Time from a teach event to the new pair being answerable, with a real pack loaded.

Method: load the pack (default: the Docker FAQ) into an Engine, open a Learner
over a fresh temporary data directory (real file system: every teach is a
committed transaction with its audit record, in the SQLite store), then for each of N distinct
question/answer pairs call `Learner.teach_pair` as an adapter would and
immediately `Engine.ask` the same question. The latency of one event is from
just before teach_pair to the return of the first ask() that answers with the
entry the teach reported (created, or the existing entry it became an alias
of). The background refit runs as in production (learning.refit_delay_s) and
competes for the CPU. Events are sequential: one maintainer gesture at a time.
Two runs: "as taught" (duplicate check on: templated questions mostly become
aliases) and "new entries" (force_new: every event creates an entry).

    .venv/bin/python benchmarks/teach_latency.py [--pack DIR] [--events 240] [--json]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge.pack import check_pack  # noqa: E402
from bot.learning.learning import Action, Actor, Learner, MessageRef  # noqa: E402
from bot.matching.engine import Engine  # noqa: E402
from bot.ops.config import Config, Maintainers  # noqa: E402
from bot.store.database import SQLITE_FILE  # noqa: E402

DEFAULT_PACK = Path(__file__).resolve().parent.parent / "knowledge" / "docker-faq"
SUBJECTS = [
    "nginx", "redis", "mysql", "postgres", "mongodb", "elasticsearch", "kafka", "rabbitmq", "jenkins", "gitlab-runner",
    "harbor", "traefik", "caddy", "grafana", "prometheus", "minio", "nextcloud", "wordpress", "php-fpm", "node",
    "golang", "spring-boot", "django", "flask", "rust", "dotnet", "tomcat", "zookeeper", "clickhouse", "etcd",
]
PROBLEMS = [
    "容器启动后别的容器连不上它", "数据怎么持久化才不丢", "日志应该去哪里看", "配置文件应该怎么挂载进去", "内存占用越来越高怎么排查",
    "镜像升级到新版本要注意什么", "健康检查应该怎么写", "官方镜像里的默认用户权限报错", "在 compose 里怎么设置环境变量",
]


def pairs(count: int) -> list[tuple[str, str]]:
    out = []
    for i in range(count):
        subject, problem = SUBJECTS[i % len(SUBJECTS)], PROBLEMS[(i // len(SUBJECTS)) % len(PROBLEMS)]
        out.append((f"{subject} {problem}？", f"{subject}: 参考官方镜像文档的 {problem} 一节（答案 #{i}）。"))
    return out


def load_engine(pack: Path, attempts: int = 12) -> Engine:
    """The pack may be mid-edit by curators; wait for it to validate again."""
    for attempt in range(attempts):
        loaded, problems = check_pack(pack)
        if loaded is not None:
            return Engine.from_packs([str(pack)])
        print(f"pack {pack} is invalid ({len(problems)} problem(s)); retrying in 10 s", file=sys.stderr)
        time.sleep(10)
    raise SystemExit(f"{pack} stayed invalid; try again later")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(ms: list[float]) -> dict:
    return {
        "n": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p90_ms": round(percentile(ms, 90), 1),
        "p99_ms": round(percentile(ms, 99), 1), "max_ms": round(max(ms), 1), "mean_ms": round(statistics.fmean(ms), 1),
    }


def summary_line(name: str, s: dict, width: int = 20) -> str:
    """One timing summary as a line (shared with slack_teach_latency.py)."""
    return f"{name:>{width}}: p50 {s['p50_ms']:7.1f} ms  p90 {s['p90_ms']:7.1f}  p99 {s['p99_ms']:7.1f}  max {s['max_ms']:7.1f}  (n={s['n']})"


def run(engine: Engine, pack: Path, events: int, force_new: bool) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="faqbot-teach-bench-"))
    learner = Learner.open(engine, Config(data_dir=str(data_dir), maintainers=Maintainers(qq=("10001",))))
    actor = Actor("qq", "10001")
    total, teach, first_ask = [], [], []
    outcomes: Counter = Counter()
    not_next = 0
    for i, (question, answer) in enumerate(pairs(events)):
        source = MessageRef("qq", "bench-group", f"answer-{i}")
        t0 = time.perf_counter()
        outcome = learner.teach_pair(
            actor, question, answer, source, f"qq:bench:{i}", question_ref=MessageRef("qq", "bench-group", f"q-{i}"),
            force_new=force_new,
        )
        t1 = time.perf_counter()
        outcomes[outcome.action.value] += 1
        if outcome.action not in (Action.CREATED, Action.ALIAS_ADDED):
            continue
        result = engine.ask(question)
        t2 = time.perf_counter()
        if not (result.entry and result.entry.id == outcome.entry.id):
            not_next += 1
            deadline = t2 + 30
            while time.perf_counter() < deadline and not ((r := engine.ask(question)).entry and r.entry.id == outcome.entry.id):
                time.sleep(0.001)
            t2 = time.perf_counter()
        total.append((t2 - t0) * 1000)
        teach.append((t1 - t0) * 1000)
        first_ask.append((t2 - t1) * 1000)
    quarter = max(1, len(total) // 4)
    size = sum(f.stat().st_size for f in data_dir.glob(f"{SQLITE_FILE}*"))  # the store's SQLite database and its WAL
    shutil.rmtree(data_dir)
    return {
        "mode": "new entries (force_new)" if force_new else "as taught",
        "pack": str(pack),
        "pack_entries": len(engine.pack_entries),
        "events": events,
        "outcomes": dict(outcomes),
        "not_answered_by_the_next_ask": not_next,
        "teach_to_answerable": summary(total),
        "teach_pair_only": summary(teach),
        "next_ask": summary(first_ask),
        "first_quarter": summary(total[:quarter]),
        "last_quarter": summary(total[-quarter:]),
        "database_bytes": size,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pack", default=str(DEFAULT_PACK))
    parser.add_argument("--events", type=int, default=240, help="teach events to time (at least 200 for a p99)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pack = Path(args.pack)
    reports = [run(load_engine(pack), pack, args.events, force_new) for force_new in (False, True)]
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
        return 0
    print(__doc__.split("\n\n")[1].replace("\n", " "))
    for report in reports:
        print(f"\n== {report['mode']}: pack {report['pack']} ({report['pack_entries']} entries), {report['events']} events")
        print(f"outcomes: {report['outcomes']}; not answered by the very next ask(): {report['not_answered_by_the_next_ask']}")
        for name in ("teach_to_answerable", "teach_pair_only", "next_ask", "first_quarter", "last_quarter"):
            print(summary_line(name, report[name]))
        print(f"database after the run: {report['database_bytes']} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
