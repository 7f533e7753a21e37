"""Hot reload in-process: a real pack folder on disk, a real engine, the watcher thread."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import yaml

from bot.matching.engine import Engine
from bot.matching.types import Thresholds
from bot.ops.reload import PackReloader, ReloadResult, fingerprint
from bot.ops.runtime import Metrics

NEW_ENTRY = {
    "id": "compose-healthcheck", "n": 7, "question": "docker compose 怎么给服务配置 healthcheck 健康检查？",
    "answer": "在服务下写 `healthcheck:`，给出 `test`、`interval`、`retries`。",
    "aliases": ["how do I add a healthcheck to a compose service"],
}


def _engine(folder: Path) -> Engine:
    return Engine.from_packs([str(folder)], Thresholds(reply=0.45, ambient=0.7, suggest=0.2))


def _add_entry(folder: Path, entry: dict = NEW_ENTRY) -> Path:
    path = folder / f"{entry['n']:03d}.yaml"
    path.write_text(yaml.safe_dump(entry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _break(folder: Path) -> Path:
    """An edit with a mistake on line 3 of 002.yaml (a field no entry has)."""
    path = folder / "002.yaml"
    path.write_text("id: sock-permission\nn: 2\ncolour: red\nquestion: q\nanswer: a\n", encoding="utf-8")
    return path


class Results:
    def __init__(self) -> None:
        self.items: list[ReloadResult] = []
        self.cond = threading.Condition()

    def __call__(self, result: ReloadResult) -> None:
        with self.cond:
            self.items.append(result)
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 15.0) -> list[ReloadResult]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.items) >= count, timeout), f"no reload after {self.items}"
            return list(self.items)


def test_a_valid_edit_is_picked_up_by_the_watcher(sample_pack_dir: Path) -> None:
    engine, metrics, results = _engine(sample_pack_dir), Metrics(), Results()
    reloader = PackReloader(engine, [str(sample_pack_dir)], metrics, interval=0.1, on_result=results)
    assert not engine.ask(NEW_ENTRY["aliases"][0]).answered
    reloader.start()
    try:
        _add_entry(sample_pack_dir)
        result = results.wait(1)[0]
    finally:
        reloader.stop()
    assert result.ok and result.reason == "change" and result.entries == 7
    answer = engine.ask(NEW_ENTRY["aliases"][0])
    assert answer.answered and answer.entry.id == "compose-healthcheck"
    assert metrics.value("reloads") == 1 and metrics.value("reload_failures") == 0


def test_an_invalid_edit_keeps_the_last_good_knowledge_and_logs_file_and_line(sample_pack_dir: Path, caplog) -> None:
    engine, metrics = _engine(sample_pack_dir), Metrics()
    reloader = PackReloader(engine, [str(sample_pack_dir)], metrics, watch=False)
    broken = _break(sample_pack_dir)
    _add_entry(sample_pack_dir)  # a good change in the same save is refused with the bad one
    with caplog.at_level(logging.ERROR, logger="faqbot.reload"):
        result = reloader.reload("signal")
    assert not result.ok and result.entries == 6
    assert [(p.file, p.line) for p in result.problems] == [(str(broken), 3)]
    assert f"{broken}:3" in caplog.text and "last good knowledge" in caplog.text
    still = engine.ask("为什么执行 docker 命令会报 permission denied 没权限的错误啊？")
    assert still.answered and still.entry.id == "sock-permission"
    assert engine.find("compose-healthcheck") is None
    assert metrics.value("reload_failures") == 1 and metrics.value("reloads") == 0


def test_a_refused_edit_is_not_retried_until_the_files_change_again(sample_pack_dir: Path) -> None:
    engine, metrics, results = _engine(sample_pack_dir), Metrics(), Results()
    reloader = PackReloader(engine, [str(sample_pack_dir)], metrics, interval=0.05, on_result=results)
    reloader.start()
    try:
        path = _break(sample_pack_dir)
        assert not results.wait(1)[0].ok
        # fixing the file is the next change, and the only other reload
        path.write_text(yaml.safe_dump({"id": "sock-permission", "n": 2, "question": "q?", "answer": "a"}), encoding="utf-8")
        items = results.wait(2)
    finally:
        reloader.stop()
    assert [r.ok for r in items] == [False, True]
    assert engine.find("sock-permission").question == "q?"


def test_request_reloads_even_when_not_watching(sample_pack_dir: Path) -> None:
    engine, results = _engine(sample_pack_dir), Results()
    reloader = PackReloader(engine, [str(sample_pack_dir)], Metrics(), watch=False, interval=30.0, on_result=results)
    reloader.start()
    try:
        _add_entry(sample_pack_dir)
        reloader.request()  # what SIGHUP does; wakes the thread long before its 30 s poll
        result = results.wait(1)[0]
    finally:
        reloader.stop()
    assert result.ok and result.reason == "signal"
    assert engine.find("compose-healthcheck") is not None


def test_a_pack_folder_that_disappears_is_refused_and_its_return_reloads(tmp_path: Path, sample_pack_dir: Path) -> None:
    engine, metrics = _engine(sample_pack_dir), Metrics()
    reloader = PackReloader(engine, [str(sample_pack_dir)], metrics, watch=False)
    moved = sample_pack_dir.rename(tmp_path / "elsewhere")
    before = fingerprint([str(sample_pack_dir)])
    assert not reloader.reload().ok and len(engine.entries) == 6
    moved.rename(sample_pack_dir)
    assert fingerprint([str(sample_pack_dir)]) != before
    assert reloader.reload().ok and len(engine.entries) == 6


def test_fingerprint_sees_a_same_size_rewrite(sample_pack_dir: Path) -> None:
    path = sample_pack_dir / "001.yaml"
    before = fingerprint([str(sample_pack_dir)])
    text = path.read_text(encoding="utf-8")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text.replace("好慢", "很慢"), encoding="utf-8")  # same length in bytes, new inode
    tmp.replace(path)
    assert fingerprint([str(sample_pack_dir)]) != before


def test_a_pack_emptied_of_entries_is_refused_rather_than_breaking_the_engine(sample_pack_dir: Path) -> None:
    engine, metrics = _engine(sample_pack_dir), Metrics()
    reloader = PackReloader(engine, [str(sample_pack_dir)], metrics, watch=False)
    for path in sample_pack_dir.glob("0*.yaml"):
        path.unlink()
    (sample_pack_dir / "all.yaml").write_text("entries: []\n", encoding="utf-8")  # valid YAML, valid pack, nothing in it
    result = reloader.reload()
    assert not result.ok and "no entries" in result.problems[0].message
    assert engine.ask("docker pull is very slow").answered and metrics.value("reload_failures") == 1
