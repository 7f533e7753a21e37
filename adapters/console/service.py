"""The console adapter as a Service, for `faqbot run` with no platform configured.

It reads stdin in its own thread, answers on stdout, and logs and counts each
message like any other adapter (platform "console"). The end of stdin ends the
process (`on_eof`), so `echo question | faqbot run` and Ctrl-D both finish.
Stdin is read by file descriptor, a paste on a terminal being one message
(input.py).

On a terminal the log would interleave with the prompt and the replies, so
while the console is interactive the terminal shows warnings and errors only,
each on its own line above the prompt, and every record (INFO included) goes
to `<data_dir>/console.log`. Piped, the log stays on stderr as configured.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Optional, TextIO

from bot.matching import Engine, MatchResult, Mode
from bot.ops import BotContext

from .chat import BANNER, ConsoleSession, format_reply
from .input import PASTE_WINDOW_S, messages

log = logging.getLogger("faqbot.console")

PLATFORM = "console"
CHANNEL = "stdin"
PROMPT = "you> "
LOG_FILE = "console.log"


class _Terminal:
    """The console's screen: replies, the prompt, and log lines written above the prompt."""

    def __init__(self, out: TextIO):
        self.out = out
        self.lock = threading.RLock()
        self.at_prompt = False

    def prompt(self) -> None:
        with self.lock:
            self.out.write(PROMPT)
            self.out.flush()
            self.at_prompt = True

    def say(self, text: str) -> None:
        with self.lock:
            print(text, file=self.out, flush=True)
            self.at_prompt = False

    def above_prompt(self, stream: TextIO, text: str) -> None:
        with self.lock:
            if self.at_prompt:
                stream.write("\r\033[K")  # clear the prompt line, write the record, draw the prompt again
            stream.write(text)
            stream.flush()
            if self.at_prompt and text.endswith("\n"):
                self.out.write(PROMPT)
                self.out.flush()


class _AbovePrompt:
    """A log handler's stream that never writes into the middle of the prompt."""

    def __init__(self, stream: TextIO, terminal: _Terminal):
        self.stream = stream
        self.terminal = terminal

    def write(self, text: str) -> int:
        self.terminal.above_prompt(self.stream, text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


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
        self.terminal = _Terminal(stdout)
        self._log_moves: list[tuple[logging.Handler, object, int]] = []  # handler, stream, level before
        self._log_file: Optional[logging.Handler] = None

    @property
    def interactive(self) -> bool:
        return _is_terminal(self.stdin if self.stdin is not None else sys.stdin)

    def start(self) -> None:
        if self.interactive:
            self._quiet_terminal_log()
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
        self._restore_log()

    def _quiet_terminal_log(self) -> None:
        """Terminal log handlers show warnings and up, above the prompt; everything goes to the log file."""
        root = logging.getLogger()
        for handler in list(root.handlers):
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and _is_terminal(stream):
                self._log_moves.append((handler, stream, handler.level))
                handler.setStream(_AbovePrompt(stream, self.terminal))  # type: ignore[arg-type]
                handler.setLevel(max(handler.level, logging.WARNING))
        if not self._log_moves:
            return
        path = Path(self.ctx.config.data_dir) / LOG_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            file_handler = logging.FileHandler(path, encoding="utf-8")
        except OSError as exc:
            log.warning("console: cannot write the log to %s (%s); INFO lines are not kept", path, exc)
            return
        file_handler.setFormatter(self._log_moves[0][0].formatter)
        root.addHandler(file_handler)
        self._log_file = file_handler
        self.log_path = str(path)

    def _restore_log(self) -> None:
        for handler, stream, level in self._log_moves:
            handler.setStream(stream)  # type: ignore[arg-type]
            handler.setLevel(level)
        self._log_moves = []
        if self._log_file is not None:
            logging.getLogger().removeHandler(self._log_file)
            self._log_file.close()
            self._log_file = None

    def _lines(self, interactive: bool) -> Iterator[str]:
        if self.stdin is not None:
            yield from iter(self.stdin.readline, "")
        else:
            yield from messages(sys.stdin.fileno(), PASTE_WINDOW_S if interactive else 0.0)

    def _prompt(self) -> None:
        self.terminal.prompt()

    def _run(self) -> None:
        interactive = self.interactive
        if interactive:
            banner = BANNER
            if self._log_file is not None:
                banner += f"\n  (the log is in {self.log_path}; warnings also show here)"
            self.terminal.say(banner)
            self._prompt()
        try:
            for line in self._lines(interactive):
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
            self.terminal.say(format_reply(reply))
        if line.strip():
            self.ctx.observe(PLATFORM, CHANNEL, self.engine.last, started, replied=bool(reply))

