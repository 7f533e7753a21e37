"""Issue 15, the operator's side: settings, calibration.yaml and a damaged data
directory that used to be accepted and broke the bot later, or stopped it with a
traceback instead of the documented one line and exit 2."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.knowledge.pack import check_pack
from bot.matching.engine import Engine
from bot.matching.types import Thresholds
from bot.ops.app import cmd_run
from bot.ops.config import Config, ConfigError, check_data_dir, parse_config, with_thresholds
from bot.ops.reload import PackReloader
from bot.ops.runtime import Metrics
from tests.support import REPO

CALIBRATION = "calibration.yaml"


def write_config(tmp_path: Path, pack: Path, **sections) -> Path:
    data = {"packs": [str(pack)], "data_dir": str(tmp_path / "data"), "http": {"enabled": False}, "shutdown_grace_s": 2}
    data.update(sections)
    path = tmp_path / "faqbot.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, f"not one line: {err!r}"
    return lines[0]


# -- 3. calibration.yaml is checked with its pack ----------------------------------------------------------
BROKEN_CALIBRATIONS = {
    "syntax": ("features: [posterior\ncoef: [1, 2\n", "bad YAML"),
    "a list": ("- 0.5\n- 0.7\n", "must be a mapping"),
    "text coef": ("coef: [a, b]\nintercept: 0\n", "'coef' must be a list of numbers"),
    "no coef": ("intercept: 1\n", "'coef' must be a list of numbers"),
    "text intercept": ("coef: [1.0]\nintercept: high\n", "'intercept' must be a number"),
    "lengths": ("features: [a, b]\ncoef: [1.0]\n", "'coef' has 1 numbers for 2 features"),
}


@pytest.mark.parametrize("name", BROKEN_CALIBRATIONS)
def test_a_broken_calibration_file_is_a_pack_problem_with_file_and_line(sample_pack_dir: Path, name: str) -> None:
    text, problem = BROKEN_CALIBRATIONS[name]
    (sample_pack_dir / CALIBRATION).write_text(text, encoding="utf-8")
    pack, problems = check_pack(sample_pack_dir)
    assert pack is None and len(problems) == 1
    assert problems[0].file == str(sample_pack_dir / CALIBRATION) and problem in problems[0].message


def test_the_shipped_calibration_and_a_well_formed_stale_one_pass(sample_pack_dir: Path) -> None:
    assert check_pack(REPO / "knowledge" / "docker-faq")[1] == []
    (sample_pack_dir / CALIBRATION).write_text("features: [old, older]\ncoef: [1.0, -2]\nintercept: 0.5\n", encoding="utf-8")
    assert check_pack(sample_pack_dir)[1] == []


def test_validate_fails_on_a_broken_calibration(sample_pack_dir: Path, capsys) -> None:
    (sample_pack_dir / CALIBRATION).write_text("- 1\n- 2\n", encoding="utf-8")
    assert main(["knowledge", "validate", str(sample_pack_dir)]) == 1
    assert f"{sample_pack_dir / CALIBRATION}" in capsys.readouterr().out


def test_a_reload_keeps_the_last_good_knowledge_when_calibration_breaks(sample_pack_dir: Path) -> None:
    engine = Engine.from_packs([str(sample_pack_dir)], Thresholds(reply=0.45, ambient=0.7, suggest=0.2))
    metrics = Metrics()
    reloader = PackReloader(engine, [str(sample_pack_dir)], metrics, watch=False)
    (sample_pack_dir / CALIBRATION).write_text("coef: [1, 2\n", encoding="utf-8")
    result = reloader.reload("signal")
    assert not result.ok and str(sample_pack_dir / CALIBRATION) in str(result.problems[0])
    assert metrics.value("reload_failures") == 1 and engine.ask("docker pull is very slow").answered


def test_the_start_stops_with_one_line_on_a_broken_calibration(tmp_path: Path, sample_pack_dir: Path, capsys) -> None:
    (sample_pack_dir / CALIBRATION).write_text("[1, 2]\n", encoding="utf-8")
    code = cmd_run(argparse.Namespace(config=str(write_config(tmp_path, sample_pack_dir))))
    err = capsys.readouterr().err
    # the pack refusal's own form: a line, then one line per problem naming file and line
    assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 2
    assert err.startswith("faqbot: refusing to start") and f"{sample_pack_dir / CALIBRATION}:1:" in err


# -- 4. settings that break the bot are refused, naming the key -----------------------------------------
@pytest.mark.parametrize("section, key", [
    ({"qq": {"request_timeout_s": 0}}, "qq.request_timeout_s"),
    ({"qq": {"request_timeout_s": float("nan")}}, "qq.request_timeout_s"),
    ({"qq": {"reconnect_max_s": -1}}, "qq.reconnect_max_s"),
    ({"qq": {"send_backlog": 0}}, "qq.send_backlog"),
    ({"qq": {"send_interval_s": -0.5}}, "qq.send_interval_s"),
    ({"shutdown_grace_s": -5}, "shutdown_grace_s"),
    ({"shutdown_grace_s": float("inf")}, "shutdown_grace_s"),
    ({"slack": {"workers": 0}}, "slack.workers"),
    ({"learning": {"max_answer_chars": 0}}, "learning.max_answer_chars"),
])
def test_settings_that_break_the_bot_are_refused(section: dict, key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(section)
    assert refused.value.key == key


def test_the_defaults_pass_the_range_checks() -> None:
    parse_config({})


def test_an_unwritable_data_dir_is_refused_at_start(tmp_path: Path, sample_pack_dir: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        check_data_dir(Config(data_dir=str(blocker / "data")))
    assert refused.value.key == "data_dir"
    config = write_config(tmp_path, sample_pack_dir, data_dir=str(blocker / "data"))
    assert cmd_run(argparse.Namespace(config=str(config))) == 2
    assert "data_dir" in one_line(capsys.readouterr().err)
    assert main(["qq", "--config", str(config)]) == 2
    assert "data_dir" in one_line(capsys.readouterr().err)


def test_a_writable_data_dir_is_created(tmp_path: Path) -> None:
    check_data_dir(Config(data_dir=str(tmp_path / "new" / "data")))
    assert (tmp_path / "new" / "data").is_dir() and not list((tmp_path / "new" / "data").iterdir())


@pytest.mark.parametrize("value", ["1.5", "-1", "nan", "inf"])
@pytest.mark.parametrize("command", [["ask", "docker pull is very slow"], ["eval", "unused.tsv"]])
def test_threshold_options_are_checked_like_the_configuration(sample_pack_dir: Path, capsys, value: str, command: list) -> None:
    assert main([*command, "--pack", str(sample_pack_dir), "--threshold", value]) == 2
    assert "thresholds.reply" in one_line(capsys.readouterr().err)


def test_with_thresholds_keeps_good_values() -> None:
    assert with_thresholds(Config(), reply=0.5, ambient=None).thresholds.reply == 0.5
    with pytest.raises(ConfigError):
        with_thresholds(Config(), ambient=math.nan)


# -- 11. a damaged learned.yaml: one line and exit 2 under `faqbot qq` and `faqbot slack` too ----------------
@pytest.mark.parametrize("platform", ["qq", "slack"])
def test_a_damaged_learned_file_stops_every_adapter_command_with_one_line(
    tmp_path: Path, sample_pack_dir: Path, capsys, monkeypatch, platform: str
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
    data = tmp_path / "data"
    data.mkdir()
    (data / "learned.yaml").write_text("entries: [unclosed\n", encoding="utf-8")
    config = write_config(tmp_path, sample_pack_dir, qq={"enabled": True, "ws_url": "ws://127.0.0.1:9"}, slack={"enabled": True})
    assert main([platform, "--config", str(config)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "refusing to start" in line and str(data / "learned.yaml") in line
    assert (data / "learned.yaml").read_text(encoding="utf-8") == "entries: [unclosed\n"
