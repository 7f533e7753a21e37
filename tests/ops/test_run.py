"""`faqbot run` as a real process: console fallback, health endpoint, hot reload,
signals, Slack and QQ together in one process, refused configurations.

Every test starts the bot the way the Docker image does (`faqbot run`, see
test_deploy) with a configuration file on disk, talks to it over stdin/stdout,
loopback sockets (fake OneBot, mock Slack) and signals, and reads its log on
stderr.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Optional

import pytest
import yaml

from bot.ops.app import cmd_run, config_path
from tests.support import REPO
from tests.support.fake_onebot import FakeOneBot, at, text
from tests.support.slack_mock import APP_TOKEN, BOT_TOKEN, MockSlack, event_callback, mention, shown

ROOT = REPO
# The `faqbot` console script (bot.cli:main), spelled so it runs from any checkout without an install.
FAQBOT = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]
SECRETS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "ONEBOT_ACCESS_TOKEN", "FAQBOT_CONFIG")
WAIT_S = 30.0  # generous: a loaded CI machine starts Python slowly; a pass takes a fraction of it
GRACE_S = 3.0
NEW_ENTRY = {
    "id": "compose-healthcheck", "n": 7, "question": "docker compose 怎么给服务配置 healthcheck 健康检查？",
    "answer": "在服务下写 healthcheck：test、interval、retries。",
    "answer_en": "Add a healthcheck: block with test, interval and retries under the service.",
    "aliases": ["how do I add a healthcheck to a compose service"],
}
SLOW_PULL_EN = "Configure a registry mirror"


class Lines:
    """A stream read line by line in a thread, waitable for a pattern."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait(self, pattern: str, after: int = 0, timeout: float = WAIT_S) -> re.Match:
        """The first match of `pattern` in a line at index `after` or later."""
        regex = re.compile(pattern)
        found: list[re.Match] = []

        def seen() -> bool:
            found[:] = [m for line in self.lines[after:] if (m := regex.search(line))][:1]
            return bool(found)

        with self._cond:
            if not self._cond.wait_for(seen, timeout):
                raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.lines))
            return found[0]

    def __len__(self) -> int:
        with self._cond:
            return len(self.lines)

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


class Bot:
    def __init__(self, config: Path, env: Optional[dict] = None, cwd: Optional[Path] = None, args: tuple = ()):
        base = {k: v for k, v in os.environ.items() if k not in SECRETS}
        base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
        command = FAQBOT + ["run", *(["--config", str(config)] if config else []), *args]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**base, **(env or {})}, cwd=cwd or config.parent, text=True, encoding="utf-8", bufsize=1,
        )
        self.out, self.err = Lines(self.proc.stdout), Lines(self.proc.stderr)

    def running(self) -> "Bot":
        self.err.wait(r"faqbot running: adapters=")
        return self

    @property
    def http(self) -> str:
        return "http://127.0.0.1:" + self.err.wait(r"health and metrics on http://[\d.]+:(\d+)").group(1)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.http + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def say(self, line: str) -> int:
        """Type a line on the console; returns the stdout position its reply will be at or after."""
        mark = len(self.out)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return mark

    def ask(self, question: str) -> str:
        """@bot a question and wait for the reply (the console always replies when addressed)."""
        return self.out.wait(r"^bot> (.*)", after=self.say(f"@bot {question}")).group(1)

    def exit_code(self, timeout: float = WAIT_S) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Bot]]:
    bots: list[Bot] = []
    yield bots
    for bot in bots:
        bot.kill()
        print(f"--- bot stderr (shown when the test fails) ---\n{bot.err.text()[-8000:]}")


def write_config(tmp_path: Path, pack: Path, **sections) -> Path:
    data = {"packs": [str(pack)], "data_dir": str(tmp_path / "data"), "http": {"enabled": False}, "shutdown_grace_s": GRACE_S}
    data.update(sections)
    path = tmp_path / "faqbot.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def start(started: list[Bot], config: Path, **kwargs) -> Bot:
    bot = Bot(config, **kwargs)
    started.append(bot)
    return bot


def add_entry(pack: Path) -> None:
    (pack / "007.yaml").write_text(yaml.safe_dump(NEW_ENTRY, allow_unicode=True), encoding="utf-8")


# -- console fallback, health endpoint, logs --------------------------------------------
def test_with_no_platform_it_runs_the_console_with_health_metrics_and_json_logs(tmp_path: Path, sample_pack_dir: Path, started) -> None:
    config = write_config(tmp_path, sample_pack_dir, http={"host": "127.0.0.1", "port": 0}, log={"format": "json"})
    bot = start(started, config).running()
    status, body = bot.get("/healthz")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["entries"] == 6 and health["adapters"] == ["console"]

    assert bot.ask("docker pull is very slow").startswith(SLOW_PULL_EN)
    bot.err.wait(r'"platform": "console"')
    records = [json.loads(line) for line in bot.err.lines]  # every line of the log is one JSON object
    assert all({"time", "level", "logger"} <= set(r) for r in records)
    message = next(r for r in records if r.get("platform") == "console")
    assert message["entry"] == "slow-pull" and message["decision"] == "answer" and message["replied"] is True
    assert message["channel"] == "stdin" and 0 < message["score"] <= 1 and message["latency_ms"] >= 0

    status, metrics = bot.get("/metrics")
    lines = metrics.splitlines()
    assert status == 200 and 'faqbot_messages_total{platform="console"} 1' in lines
    assert 'faqbot_answers_total{platform="console"} 1' in lines and "faqbot_reply_latency_seconds_count 1" in lines
    assert bot.get("/nothing-here")[0] == 404
    bot.proc.send_signal(signal.SIGTERM)  # stdin still open: the signal alone stops it
    assert bot.exit_code(GRACE_S + 10) == 0


# -- hot reload ---------------------------------------------------------------------------
def test_an_edited_pack_is_reloaded_and_a_broken_edit_keeps_the_old_knowledge(tmp_path: Path, sample_pack_dir: Path, started) -> None:
    config = write_config(tmp_path, sample_pack_dir, http={"host": "127.0.0.1", "port": 0})
    bot = start(started, config).running()
    assert not bot.ask(NEW_ENTRY["aliases"][0]).startswith("Add a healthcheck")

    mark = len(bot.err)
    add_entry(sample_pack_dir)
    bot.err.wait(r"knowledge reloaded \(change\): 7 entries", after=mark)
    assert bot.ask(NEW_ENTRY["aliases"][0]).startswith("Add a healthcheck")

    mark = len(bot.err)
    broken = sample_pack_dir / "002.yaml"
    broken.write_text("id: sock-permission\nn: 2\ncolour: red\nquestion: q\nanswer: a\n", encoding="utf-8")
    bot.err.wait(r"knowledge reload \(change\) refused: 1 problem\(s\); still serving the last good knowledge \(7 entries\)", after=mark)
    bot.err.wait(re.escape(f"{broken}:3 [sock-permission]: unknown field 'colour'"), after=mark)
    assert bot.ask("how to run docker without sudo").startswith("Add your user to the docker group")
    status, body = bot.get("/healthz")
    assert status == 200 and json.loads(body)["entries"] == 7 and "002.yaml:3" in json.loads(body)["reload_error"]
    status, metrics = bot.get("/metrics")
    assert "faqbot_reloads_total 1" in metrics.splitlines() and "faqbot_reload_failures_total 1" in metrics.splitlines()

    log = bot.err.wait(r"faqbot\.messages (platform=console .*entry=sock-permission.*)").group(1)
    assert "decision=answer" in log and "replied=True" in log and "latency_ms=" in log
    bot.proc.stdin.close()  # Ctrl-D ends the console, and the process
    assert bot.exit_code() == 0
    assert "faqbot stopped" in bot.err.text()


def test_sighup_reloads_when_watching_is_off(tmp_path: Path, sample_pack_dir: Path, started) -> None:
    bot = start(started, write_config(tmp_path, sample_pack_dir, reload=False)).running()
    add_entry(sample_pack_dir)
    assert not bot.ask(NEW_ENTRY["aliases"][0]).startswith("Add a healthcheck")  # not watching: still the old pack
    mark = len(bot.err)
    bot.proc.send_signal(signal.SIGHUP)
    bot.err.wait(r"knowledge reloaded \(signal\): 7 entries", after=mark)
    assert bot.ask(NEW_ENTRY["aliases"][0]).startswith("Add a healthcheck")
    assert bot.proc.poll() is None  # SIGHUP reloads, it does not end the process


# -- platforms ------------------------------------------------------------------------------
def test_slack_and_qq_run_together_in_one_process(tmp_path: Path, sample_pack_dir: Path, started) -> None:
    with MockSlack() as slack, FakeOneBot(token="onebot-secret") as onebot:
        config = write_config(
            tmp_path, sample_pack_dir,
            http={"host": "127.0.0.1", "port": 0},
            slack={"enabled": True, "mode": "socket"},
            qq={"enabled": True, "ws_url": onebot.url, "send_interval_s": 0.0},
        )
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": slack.api_url,
            "ONEBOT_ACCESS_TOKEN": "onebot-secret",
        }
        bot = start(started, config, env=env).running()
        assert "adapters=slack,qq" in bot.err.text()
        onebot.wait_connected(timeout=WAIT_S)
        assert slack.socket.wait_connected(timeout=WAIT_S)

        slack.socket.send("events_api", event_callback(mention("docker pull is very slow")))
        onebot.group_message(111, [at(onebot.self_id), text(" 为什么容器一运行就退出啊")])
        posted = slack.wait_for("chat.postMessage", timeout=WAIT_S)[0]
        sent = onebot.wait_calls("send_group_msg", timeout=WAIT_S)[0]
        assert SLOW_PULL_EN in shown(posted)
        assert "主进程" in json.dumps(sent.params, ensure_ascii=False)

        status, body = bot.get("/healthz")
        assert status == 200 and json.loads(body)["adapters"] == ["slack", "qq"]
        bot.err.wait(r"platform=slack .*entry=slow-pull")
        bot.err.wait(r"platform=qq channel=111 entry=exits-immediately")
        bot.proc.send_signal(signal.SIGTERM)
        assert bot.exit_code(GRACE_S + 10) == 0


def test_sigterm_finishes_replies_in_flight_then_exits(tmp_path: Path, sample_pack_dir: Path, started) -> None:
    with FakeOneBot(token="t") as onebot:
        # replies to one group 1.5 s apart: the second answer is still queued when SIGTERM arrives,
        # well inside the grace period
        config = write_config(
            tmp_path, sample_pack_dir, qq={"enabled": True, "ws_url": onebot.url, "send_interval_s": 1.5}, shutdown_grace_s=8.0
        )
        bot = start(started, config, env={"ONEBOT_ACCESS_TOKEN": "t"}).running()
        onebot.wait_connected(timeout=WAIT_S)
        onebot.group_message(222, [at(onebot.self_id), text(" docker pull is very slow")])
        onebot.group_message(222, [at(onebot.self_id), text(" how to run docker without sudo")])
        bot.err.wait(r"platform=qq channel=222 entry=sock-permission")
        bot.proc.send_signal(signal.SIGTERM)
        assert bot.exit_code(8.0 + 10) == 0
        sent = [json.dumps(c.params, ensure_ascii=False) for c in onebot.calls_of("send_group_msg")]
        assert len(sent) == 2 and "usermod" in sent[1]
        assert "faqbot stopped" in bot.err.text()


# -- refusing to start ------------------------------------------------------------------------
def test_an_invalid_configuration_exits_non_zero_naming_the_key(tmp_path: Path, sample_pack_dir: Path, started) -> None:
    bot = start(started, write_config(tmp_path, sample_pack_dir, thresholds={"reply": 2}))
    assert bot.exit_code() == 2
    assert "config key 'thresholds.reply': must be between 0 and 1, not 2.0" in bot.err.text()
    assert "faqbot running" not in bot.err.text()


@pytest.fixture
def run_in_process(monkeypatch, capsys) -> Iterator:
    """cmd_run in this process: the same refusals without the cost of a new interpreter."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)

    def run(config: Path) -> tuple[int, str]:
        code = cmd_run(argparse.Namespace(config=str(config)))
        return code, capsys.readouterr().err

    yield run
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(
    "sections, named",
    [
        ({"slak": {"enabled": True}}, "config key 'slak': unknown key"),
        ({"log": {"level": "LOUD"}}, "config key 'log.level': must be one of"),
        ({"qq": {"enabled": True}}, "config key 'qq.ws_url'"),
        ({"slack": {"enabled": True}}, "config key 'SLACK_BOT_TOKEN': is not set"),
        ({"http": {"port": 70000}}, "config key 'http.port': must be a TCP port"),
    ],
)
def test_every_refusal_names_the_key(tmp_path: Path, sample_pack_dir: Path, run_in_process, sections, named) -> None:
    code, err = run_in_process(write_config(tmp_path, sample_pack_dir, **sections))
    assert code == 2 and named in err and "Traceback" not in err


def test_a_broken_pack_stops_the_start_with_file_and_line(tmp_path: Path, sample_pack_dir: Path, run_in_process) -> None:
    broken = sample_pack_dir / "003.yaml"
    broken.write_text("id: exits-immediately\nn: three\nquestion: q\nanswer: a\n", encoding="utf-8")
    code, err = run_in_process(write_config(tmp_path, sample_pack_dir))
    assert code == 2 and "refusing to start: knowledge pack is invalid" in err
    assert f"{broken}:2 [exits-immediately]: 'n' must be a non-negative whole number" in err


def test_a_pack_with_no_entries_stops_the_start(tmp_path: Path, run_in_process) -> None:
    pack = tmp_path / "empty-pack"
    pack.mkdir()
    (pack / "all.yaml").write_text("entries: []\n", encoding="utf-8")
    code, err = run_in_process(write_config(tmp_path, pack))
    assert code == 2 and f"{pack}: the pack has no entries" in err


def test_a_damaged_data_directory_stops_the_start_naming_the_file(tmp_path: Path, sample_pack_dir: Path, run_in_process) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "learned.yaml").write_text("entries: [unclosed\n", encoding="utf-8")
    code, err = run_in_process(write_config(tmp_path, sample_pack_dir))
    assert code == 2 and "refusing to start" in err and str(data / "learned.yaml") in err
    assert (data / "learned.yaml").read_text(encoding="utf-8") == "entries: [unclosed\n"  # never replaced


def test_the_configuration_is_found_by_flag_then_environment_then_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAQBOT_CONFIG", raising=False)
    assert config_path(None) is None  # built-in defaults
    (tmp_path / "faqbot.yaml").write_text("reload: false\n", encoding="utf-8")
    assert config_path(None) == "faqbot.yaml"
    monkeypatch.setenv("FAQBOT_CONFIG", "/etc/faqbot/faqbot.yaml")
    assert config_path(None) == "/etc/faqbot/faqbot.yaml"
    assert config_path("given.yaml") == "given.yaml"
