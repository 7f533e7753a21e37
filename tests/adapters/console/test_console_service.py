"""The console adapter as `faqbot run` uses it: a reader thread over stdin."""
from __future__ import annotations

import io
import os
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.console.input import messages
from adapters.console.service import ConsoleService
from bot.matching.engine import Engine
from bot.ops.config import Config
from bot.ops.runtime import BotContext


def _through_a_pipe(data: bytes, max_chars: int, window_s: float = 0.0) -> list[str]:
    read, write = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write, data), os.close(write)))
    writer.start()
    try:
        return list(messages(read, window_s, max_chars))
    finally:
        writer.join()
        os.close(read)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.binary(max_size=3000) | st.lists(st.sampled_from([b"\n", b"\xff", b"\xe5\xa5", b"\xbd", "好".encode(), b"a" * 50])).map(b"".join),
    st.integers(1, 64),
)
def test_stdin_is_read_whole_whatever_the_bytes_and_never_as_one_huge_line(data: bytes, max_chars: int) -> None:
    lines = _through_a_pipe(data, max_chars)
    assert "".join(lines) == data.decode("utf-8", errors="replace").replace("\n", "")  # nothing lost
    assert all(len(line) <= max_chars and "\n" not in line for line in lines)
    assert len(lines) >= data.count(b"\n")  # at least one message per line


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from([b"\n", b"\xff", "好".encode(), b"a" * 30, b"@bot x\n"])).map(b"".join), st.integers(8, 64))
def test_lines_arriving_together_join_into_bounded_messages(data: bytes, max_chars: int) -> None:
    joined = _through_a_pipe(data, max_chars, window_s=0.05)  # all of it is there at once, as a paste is
    text = data.decode("utf-8", errors="replace")
    assert "".join(m.replace("\n", "") for m in joined) == text.replace("\n", "")
    assert all(len(m) <= max_chars for m in joined)
    if text.strip("\n") and len(text) <= max_chars:
        assert len(joined) == 1  # a paste that fits is one message


def test_each_line_is_answered_logged_and_counted_then_eof_ends_the_run(sample_engine: Engine) -> None:
    ended = threading.Event()
    out = io.StringIO()
    ctx = BotContext(config=Config(), engine=sample_engine)
    lines = "@bot docker pull is very slow\n/faq help\n\nhow do I cook rice\n"
    service = ConsoleService(ctx, on_eof=ended.set, stdin=io.StringIO(lines), stdout=out)
    service.start()
    assert ended.wait(10)
    replies = [line for line in out.getvalue().splitlines() if line.startswith("bot> ")]
    assert replies[0].startswith("bot> Configure a registry mirror") and len(replies) == 2  # the overheard line stays quiet
    assert ctx.metrics.value("messages", platform="console") == 3  # the blank line is not a message
    assert ctx.metrics.value("answers", platform="console") == 1
    assert ctx.metrics.value("abstentions", platform="console") == 1


def test_after_stop_no_line_is_answered_and_eof_does_not_report_twice(sample_engine: Engine) -> None:
    read, write = os.pipe()
    ended = threading.Event()
    out = io.StringIO()
    service = ConsoleService(BotContext(config=Config(), engine=sample_engine), on_eof=ended.set, stdout=out)
    service.stdin = os.fdopen(read, encoding="utf-8")
    service.start()
    service.stop(1.0)
    os.write(write, b"@bot docker pull is very slow\n")
    os.close(write)
    service._thread.join(10)
    assert not service._thread.is_alive() and out.getvalue() == "" and not ended.is_set()
