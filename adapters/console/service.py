"""The console adapter as a Service, for `faqbot run` with no platform configured.

It reads stdin in its own thread, answers on stdout, and logs and counts each
line like any other adapter (platform "console"). The end of stdin ends the
process (`on_eof`), so `echo question | faqbot run` and Ctrl-D both finish.

Stdin is read from its file descriptor, not through sys.stdin: a thread blocked
inside sys.stdin's buffered reader holds its lock, and Python aborts at exit
when it finds that lock taken (a SIGTERM while waiting for input would end in
SIGABRT). Bytes that are not UTF-8 read as U+FFFD, and a line without an end
is cut every MAX_LINE_CHARS, so no input stops the reader or fills memory.
"""
from __future__ import annotations

import codecs
import logging
import os
import sys
import threading
import time
from typing import Callable, Iterator, Optional, TextIO

from bot.engine import Engine
from bot.runtime import BotContext
from bot.types import MatchResult, Mode

from .chat import BANNER, ConsoleSession

log = logging.getLogger("faqbot.console")

PLATFORM = "console"
CHANNEL = "stdin"
MAX_LINE_CHARS = 100_000
READ_BYTES = 65536


def fd_lines(fd: int, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """Lines of a file descriptor, decoded as UTF-8 (errors replaced), cut every `max_chars`."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    while True:
        chunk = os.read(fd, READ_BYTES)
        pending += decoder.decode(chunk, final=not chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            *pieces, last = _cut(line, max_chars)
            yield from pieces
            yield last + "\n"
        *pieces, pending = _cut(pending, max_chars)
        yield from pieces
        if not chunk:
            break
    if pending:
        yield pending


def _cut(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


class _Recording:
    """The engine, remembering the last result so the line can be logged with it."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self.last: Optional[MatchResult] = None

    def ask(self, text: str, mode: Mode | str = Mode.REPLY, depth: int = 0) -> MatchResult:
        self.last = self._engine.ask(text, mode, depth)
        return self.last

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


class ConsoleService:
    name = PLATFORM

    def __init__(
        self,
        ctx: BotContext,
        on_eof: Callable[[], None] = lambda: None,
        stdin: Optional[TextIO] = None,
        stdout: TextIO = sys.stdout,
    ):
        self.ctx = ctx
        self.on_eof = on_eof
        self.stdin = stdin  # None: the process's stdin, by file descriptor
        self.stdout = stdout
        self.engine = _Recording(ctx.engine)
        self.session = ConsoleSession(self.engine)  # type: ignore[arg-type]
        self._busy = threading.Lock()  # held while one line is being answered
        self._stopped = False
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="faqbot-console", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Finish the line being answered; a reader blocked on stdin is left to die with the process."""
        finished = self._busy.acquire(timeout=max(timeout, 0.0))
        self._stopped = True
        if finished:
            self._busy.release()
        else:
            log.warning("console: a reply was still being written at shutdown")

    def _lines(self) -> Iterator[str]:
        if self.stdin is not None:
            yield from iter(self.stdin.readline, "")
        else:
            yield from fd_lines(sys.stdin.fileno())

    def _prompt(self) -> None:
        self.stdout.write("you> ")
        self.stdout.flush()

    def _run(self) -> None:
        interactive = (self.stdin or sys.stdin).isatty()
        if interactive:
            print(BANNER, file=self.stdout, flush=True)
            self._prompt()
        try:
            for line in self._lines():
                with self._busy:
                    if self._stopped:
                        break
                    self._answer(line)
                if interactive:
                    self._prompt()
        except (OSError, ValueError):  # stdin closed under us: same as its end
            log.info("console: stdin closed")
        finally:
            if not self._stopped:
                self.on_eof()

    def _answer(self, line: str) -> None:
        started = time.perf_counter()
        self.engine.last = None
        try:
            reply = self.session.handle(line)
        except Exception:  # one bad line must not end the console
            log.exception("console: error while answering a line")
            self.ctx.metrics.inc("errors", platform=PLATFORM)
            return
        if reply:
            print("bot> " + reply.replace("\n", "\n     "), file=self.stdout, flush=True)
        if line.strip():
            self.ctx.observe(PLATFORM, CHANNEL, self.engine.last, started, replied=bool(reply))

