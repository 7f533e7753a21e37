"""Hot reload of the knowledge packs, on an edit (polled) or on request (SIGHUP).

Polling mtimes and sizes every second needs no extra dependency and works on
every file system a pack may live on, bind mounts and network shares included,
where inotify does not. A reload checks every pack first and swaps the
engine's knowledge only when all of them are valid: a broken edit is refused
as a whole, logged problem by problem with file and line, and the last good
knowledge keeps answering. Learned knowledge stays applied across reloads
(Engine.replace_entries).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..knowledge.pack import check_pack
from ..matching.engine import Engine
from ..matching.types import Pack, PackError, PackProblem
from .runtime import Metrics

log = logging.getLogger("faqbot.reload")

POLL_INTERVAL_S = 1.0
# An editor or `git pull` writes several files one after another: wait until the
# folder stops changing, so one save is one reload and not a refused half-save.
SETTLE_S = 0.3
SETTLE_TRIES = 10
PACK_SUFFIXES = (".yaml", ".yml")

Fingerprint = tuple[tuple[str, int, int, int], ...]


def fingerprint(folders: Sequence[str]) -> Fingerprint:
    """(path, mtime, size, inode) of every pack file: any save changes at least one."""
    out: list[tuple[str, int, int, int]] = []
    for folder in folders:
        try:
            with os.scandir(folder) as it:
                for item in it:
                    if item.name.endswith(PACK_SUFFIXES):
                        st = item.stat()
                        out.append((item.path, st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append((str(folder), -1, -1, -1))  # a missing folder is a state too: its return is a change
    return tuple(sorted(out))


def load_packs(folders: Sequence[str]) -> list[Pack]:
    """Every pack, or PackError with every problem of all of them (an engine needs at least one entry)."""
    packs: list[Pack] = []
    problems: list[PackProblem] = []
    for folder in folders:
        pack, found = check_pack(folder)
        problems.extend(found)
        if pack is not None:
            packs.append(pack)
    if not problems and not any(p.entries for p in packs):
        problems.append(PackProblem(", ".join(str(f) for f in folders), 0, "", "the packs hold no entries"))
    if problems:
        raise PackError(problems)
    return packs


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    reason: str  # change | signal | request
    entries: int  # entries serving after the attempt
    problems: tuple[PackProblem, ...] = ()


class PackReloader:
    def __init__(
        self,
        engine: Engine,
        folders: Sequence[str],
        metrics: Metrics,
        watch: bool = True,
        interval: float = POLL_INTERVAL_S,
        on_result: Callable[[ReloadResult], None] = lambda result: None,
        baseline: Optional[Fingerprint] = None,
    ):
        self.engine = engine
        self.folders = tuple(str(Path(f)) for f in folders)
        self.metrics = metrics
        self.watch = watch
        self.interval = interval
        self.on_result = on_result
        # taken before the engine loaded, so an edit made while it loaded is not missed
        self._seen = baseline if baseline is not None else fingerprint(self.folders)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._requested = False
        self._stopping = False
        self._thread: Optional[threading.Thread] = None

    def reload(self, reason: str = "request") -> ReloadResult:
        """Check every pack and swap them in when all are valid; never raises for a bad pack."""
        with self._lock:
            self._seen = fingerprint(self.folders)
            problems = self._swap()
            result = ReloadResult(not problems, reason, len(self.engine.entries), tuple(problems))
            # health and metrics first: whoever reads the log line then finds them up to date
            self.metrics.inc("reload_failures" if problems else "reloads")
            self.on_result(result)
            if problems:
                log.error(
                    "knowledge reload (%s) refused: %d problem(s); still serving the last good knowledge (%d entries)",
                    reason, len(problems), result.entries,
                )
                for problem in problems:
                    log.error("reload problem: %s", problem)
            else:
                log.info("knowledge reloaded (%s): %d entries from %s", reason, result.entries, ", ".join(self.folders))
        return result

    def _swap(self) -> list[PackProblem]:
        """Load every pack and hand them to the engine; the problems when that was refused."""
        try:
            packs = load_packs(self.folders)
            self.engine.replace_entries([e for p in packs for e in p.entries], packs)
            return []
        except PackError as exc:
            return exc.problems
        except Exception as exc:  # a reload must never take the bot, or the watcher thread, down with it
            log.exception("knowledge reload failed unexpectedly")
            return [PackProblem(", ".join(self.folders), 0, "", f"unexpected error: {exc}")]

    def request(self) -> None:
        """Ask the watcher thread for a reload (safe from a signal handler: no lock the main thread holds)."""
        self._requested = True
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="faqbot-reload", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stopping:
                return
            if self._requested:
                self._requested = False
                self.reload("signal")
            elif self.watch and fingerprint(self.folders) != self._seen:
                self._settle()
                if not self._stopping:
                    self.reload("change")

    def _settle(self) -> None:
        previous = fingerprint(self.folders)
        for _ in range(SETTLE_TRIES):
            time.sleep(SETTLE_S)
            current = fingerprint(self.folders)
            if current == previous:
                return
            previous = current
