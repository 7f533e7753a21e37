"""Log lines as an operator's tools read them: one line per record, plain or JSON."""
from __future__ import annotations

import io
import json
import logging
import time
from typing import Iterator

import pytest

from bot.matching.engine import Engine
from bot.ops.config import Config, ConfigError, LogConfig
from bot.ops.logsetup import configure
from bot.ops.runtime import BotContext


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_per_message_record_as_top_level_fields(sample_engine: Engine) -> None:
    out = io.StringIO()
    configure(LogConfig(format="json", level="INFO"), out)
    ctx = BotContext(config=Config(), engine=sample_engine, json_logs=True)
    ctx.observe("qq", "12345", sample_engine.ask("docker pull is very slow"), time.perf_counter(), replied=True)
    logging.getLogger("faqbot").warning("two\nlines")
    first, second = [json.loads(line) for line in out.getvalue().splitlines()]
    assert first["logger"] == "faqbot.messages" and first["level"] == "INFO"
    assert {k: first[k] for k in ("platform", "channel", "entry", "decision", "replied")} == {
        "platform": "qq", "channel": "12345", "entry": "slow-pull", "decision": "answer", "replied": True,
    }
    assert first["latency_ms"] >= 0 and 0 < first["score"] <= 1 and "message" not in first
    assert second["message"] == "two\nlines" and second["level"] == "WARNING"


def test_plain_lines_stay_one_line_per_record_even_with_a_traceback() -> None:
    out = io.StringIO()
    configure(LogConfig(format="plain", level="WARNING"), out)
    log = logging.getLogger("faqbot.test")
    log.info("not shown at WARNING")
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        log.exception("failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and " ERROR faqbot.test failed" in lines[0] and "ValueError: boom" in lines[0]


def test_an_unknown_level_names_the_key() -> None:
    with pytest.raises(ConfigError, match="log.level"):
        configure(LogConfig(level="LOUD"))
