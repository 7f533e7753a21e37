"""The preview is the bot: every command reads the configuration the same way and sees the
same knowledge, learned pairs included; and the command line's own manners (--version,
whole --help with defaults, one-line refusals, a closed pipe ends quietly).

Commands run as real processes (`python -c 'from bot.cli import main'`, the console script
without an install) in a working directory holding ./faqbot.yaml, as a user runs them.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli.cli import build_parser, main
from tests.ops.test_run import FAQBOT, GRACE_S, SECRETS, WAIT_S, start, started  # noqa: F401 (fixture)
from tests.support import REPO
from tests.support.fake_onebot import FakeOneBot, sent_text, text

ROOT = REPO
MAINTAINER = 30003
GROUP = 111
TAUGHT_Q = "公司内部的镜像仓库地址是多少"
TAUGHT_A = "内部仓库在 registry.corp.example:5000，先 docker login 再 push。"


def faqbot(*args: str, cwd: Path, stdin: str = "", env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in SECRETS}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        FAQBOT + list(args), cwd=cwd, input=stdin, capture_output=True, text=True, encoding="utf-8",
        env={**base, **(env or {})}, timeout=timeout,
    )


def write_config(folder: Path, pack: Path, **sections) -> Path:
    """./faqbot.yaml with relative paths, as a user writes it next to their data."""
    data = {"packs": [os.path.relpath(pack, folder)], "data_dir": "botdata", "http": {"enabled": False},
            "shutdown_grace_s": GRACE_S, **sections}
    path = folder / "faqbot.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_pair_taught_to_faqbot_run_is_answered_by_ask_chat_and_eval(
    tmp_path: Path, sample_pack_dir: Path, started, capsys, monkeypatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    with FakeOneBot(token="t") as onebot:
        config = write_config(
            work, sample_pack_dir, maintainers={"qq": [str(MAINTAINER)]},
            qq={"enabled": True, "ws_url": onebot.url, "send_interval_s": 0.0},
        )
        bot = start(started, config, env={"ONEBOT_ACCESS_TOKEN": "t"}, cwd=work).running()
        onebot.wait_connected(timeout=WAIT_S)
        onebot.group_message(GROUP, [text(f"/faq add {TAUGHT_Q} | {TAUGHT_A}")], MAINTAINER)
        confirmation = onebot.wait_calls("send_group_msg", timeout=WAIT_S)[0]
        assert "#" in sent_text(confirmation)  # the new entry's number
        bot.proc.send_signal(signal.SIGTERM)
        assert bot.exit_code(GRACE_S + 10) == 0

    # no --config anywhere: ./faqbot.yaml, its packs and its data directory
    code, out, err = in_process(capsys, monkeypatch, work, "ask", "--json", TAUGHT_Q)
    data = json.loads(out)
    assert code == 0, err
    assert data["answered"] and "registry.corp.example:5000" in data["answer"] and data["pack"] is None
    learned_id = data["id"]

    chat = faqbot("chat", cwd=work, stdin=f"@bot {TAUGHT_Q}\n@bot docker pull 好慢啊\n")
    assert chat.returncode == 0, chat.stderr
    replies = [r for r in chat.stdout.split("bot> ") if r.strip()]
    assert "registry.corp.example:5000" in replies[0]
    assert "镜像加速器" in replies[1]  # the sample pack, from the same configuration

    code, out, err = in_process(capsys, monkeypatch, work, "knowledge", "learned", "--json")
    assert [e["question"] for e in json.loads(out)["entries"]] == [TAUGHT_Q], err

    labels = work / "set.tsv"
    labels.write_text(f"query\texpected\tlang\tnote\n{TAUGHT_Q}\t{learned_id}\tzh\tlearned\n"
                      "docker pull 好慢啊\tslow-pull\tzh\tpack\n", encoding="utf-8")
    code, out, err = in_process(capsys, monkeypatch, work, "eval", "--json", str(labels))
    figures = json.loads(out)
    assert code == 0, err
    assert figures["top1"] == 1.0 and figures["unresolved"] == [] and figures["label_pack"] == "sample-pack"
    assert figures["packs"] == {"sample-pack": 6, "learned": 1}  # the report says what it evaluated


def in_process(capsys, monkeypatch, cwd: Path, *argv: str, env: dict | None = None) -> tuple[int, str, str]:
    """The command line in this process (what the console script calls), from `cwd`, without
    the chat secrets; returns (exit code, stdout, stderr)."""
    monkeypatch.chdir(cwd)
    for key in SECRETS:
        monkeypatch.delenv(key, raising=False)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refusal(capsys, monkeypatch, cwd: Path, *argv: str, env: dict | None = None) -> tuple[int, str]:
    code, _, err = in_process(capsys, monkeypatch, cwd, *argv, env=env)
    return code, err


def test_every_command_refuses_a_missing_config_file_in_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    missing = tmp_path / "nope.yaml"
    for command in (["ask", "hello"], ["chat"], ["eval", "x.tsv"], ["bench"], ["run"], ["knowledge", "learned"],
                    ["knowledge", "export"], ["knowledge", "validate"], ["knowledge", "calibrate"], ["qq"], ["slack"]):
        for argv in ([*command, "--config", str(missing)], ["--config", str(missing), *command]):
            code, err = refusal(capsys, monkeypatch, tmp_path, *argv)
            assert (code, err) == (2, f"faqbot: config file not found: {missing}\n"), argv
    # $FAQBOT_CONFIG is read the same way, and ./faqbot.yaml when it is there
    code, err = refusal(capsys, monkeypatch, tmp_path, "ask", "hello", env={"FAQBOT_CONFIG": str(missing)})
    assert (code, err) == (2, f"faqbot: config file not found: {missing}\n")
    (tmp_path / "faqbot.yaml").write_text("thresholds: {reply: 2}\n", encoding="utf-8")
    for command in (["ask", "hello"], ["knowledge", "learned"], ["run"], ["bench"]):
        code, err = refusal(capsys, monkeypatch, tmp_path, *command)
        assert code == 2 and err.startswith("faqbot: faqbot.yaml: config key 'thresholds.reply'"), (command, err)
    # and as a process, the way a user meets it: one line, no traceback
    done = faqbot("chat", "--config", str(missing), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (2, f"faqbot: config file not found: {missing}\n")


def test_a_missing_pack_folder_is_named_in_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    write_config(tmp_path, tmp_path / "no-such-pack")
    expected = f"faqbot: knowledge pack folder not found: {tmp_path / 'no-such-pack'}"
    for command in (["ask", "hello"], ["chat"], ["eval", "x.tsv"]):
        code, err = refusal(capsys, monkeypatch, tmp_path, *command)
        assert code == 2 and err.startswith(expected) and len(err.splitlines()) == 1 and "invalid" not in err, err
    code, err = refusal(capsys, monkeypatch, tmp_path, "ask", "--pack", str(tmp_path / "other"), "hello")
    assert code == 2 and f"knowledge pack folder not found: {tmp_path / 'other'}" in err
    done = faqbot("run", cwd=tmp_path)  # the deployed command says the same
    assert done.returncode == 2 and done.stderr.startswith(expected) and len(done.stderr.splitlines()) == 1, done.stderr


def test_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    done = faqbot("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"faqbot {version('faqbot')}"


def _parsers(parser: argparse.ArgumentParser, path: str = "faqbot"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


def test_help_is_whole_and_describes_every_option_with_its_default(tmp_path: Path) -> None:
    top = faqbot("--help", cwd=tmp_path)
    description = top.stdout.split("\n\n")[1]
    assert top.returncode == 0 and description.rstrip().endswith(".")  # a whole sentence, not cut at a line
    for name in ("ask", "chat", "eval", "bench", "run", "knowledge", "--version"):
        assert name in top.stdout
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help and action.help != argparse.SUPPRESS, f"{path} {action.dest}: no help"
        text = parser.format_help()
        for action in parser._actions:
            if action.option_strings and action.default not in (None, False, "", argparse.SUPPRESS) and not isinstance(
                action, (argparse._HelpAction, argparse._VersionAction)
            ):
                # the default is shown, by the formatter or in the help text itself
                assert "default" in " ".join(text.split()), f"{path}: {action.dest}'s default not shown"
    bench = " ".join(faqbot("bench", "--help", cwd=tmp_path).stdout.split())
    assert "(default: 2000)" in bench and "--synthetic N" in bench and "default: none" in bench


def test_a_closed_pipe_ends_every_command_quietly(tmp_path: Path, sample_pack_dir: Path) -> None:
    """`faqbot … | head -1`: the reader goes away before the writer is done."""
    write_config(tmp_path, sample_pack_dir)
    base = {k: v for k, v in os.environ.items() if k not in SECRETS}
    base["PYTHONPATH"] = str(ROOT)
    for command in (["--help"], ["knowledge", "learned"], ["chat"]):
        proc = subprocess.Popen(FAQBOT + command, cwd=tmp_path, env=base, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.close()  # nobody reads: every write fails with EPIPE
        _, err = proc.communicate(b"@bot docker pull \xe5\xa5\xbd\xe6\x85\xa2\n" * 50, timeout=60)
        assert b"Traceback" not in err and b"BrokenPipe" not in err, (command, err.decode())
        assert proc.returncode in (0, 141), (command, proc.returncode, err.decode())
    # and the pipeline as a user types it, with more lines than `head` reads
    (tmp_path / "many.tsv").write_text(
        "query\texpected\tlang\tnote\n" + "".join(f"question {i}\t-\ten\tx\n" for i in range(400)), encoding="utf-8"
    )
    shell = subprocess.run(
        f"{' '.join(map(repr, FAQBOT))} eval --worst 400 many.tsv | head -1", shell=True, cwd=tmp_path, env=base,
        capture_output=True, text=True, timeout=120,
    )
    assert shell.stdout.startswith("rows: 400") and "Traceback" not in shell.stderr, shell.stderr


def test_building_the_slack_app_does_not_warn_that_the_token_is_unused(caplog, monkeypatch, tmp_path, sample_engine) -> None:
    pytest.importorskip("slack_bolt")
    from slack_sdk import WebClient

    from adapters.slack.app import build_app
    from bot.ops.config import Config
    from bot.ops.runtime import BotContext

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")  # what `faqbot slack` runs with
    caplog.set_level(logging.DEBUG)
    client = WebClient(token="xoxb-from-the-environment", base_url="http://127.0.0.1:9/api/")
    built = build_app(BotContext(Config(data_dir=str(tmp_path)), sample_engine), client)
    assert not [r for r in caplog.records if "unused" in r.getMessage()]
    # other messages of Bolt's logger still get through
    logging.getLogger("faqbot.slack.bolt").warning("something else")
    assert "something else" in caplog.text
    built.executor.shutdown(wait=False) if hasattr(built.executor, "shutdown") else None


def test_a_damaged_store_stops_ask_chat_and_eval_with_the_reason(tmp_path: Path, sample_pack_dir: Path, capsys, monkeypatch) -> None:
    """The preview commands open the same learned knowledge as `faqbot run`, so they refuse the same way."""
    write_config(tmp_path, sample_pack_dir)
    (tmp_path / "botdata").mkdir()
    (tmp_path / "botdata" / "faqbot.db").write_bytes(b"not a database, not at all" * 100)
    for command in (["ask", "hello"], ["chat"], ["eval", "x.tsv"], ["run"]):
        code, err = refusal(capsys, monkeypatch, tmp_path, *command)
        assert code == 2 and "faqbot: refusing to start: " in err and "faqbot.db" in err, (command, err)
        assert "Traceback" not in err
