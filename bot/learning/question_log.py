"""The question log: what people asked, what the bot decided, and what it nearly said.

One platform-neutral hook, `BotContext.observe()` (which every adapter calls
once per handled message with the engine's MatchResult), hands each result to
`QuestionLog.observe()`. It keeps:

- every question asked directly (reply mode): decision "answer", "suggest"
  (did-you-mean offered) or "unknown";
- every overheard message (ambient mode) the bot answered ("answer"), or whose
  best candidate reached `question_log.log_ambient_near_misses_above` but was
  not answered ("quiet": the near-misses that show what the packs lack);
  other chatter is not logged.

The text logged is the engine's normalised text; user ids only when
`question_log.keep_user_ids` is on. Writing never slows an answer: records
go into a bounded queue and one background thread writes them in batches;
when the queue is full (the database is down for long) records are dropped
and counted (`faqbot_question_log_dropped_total`), and one that cannot be
written after retries is counted as failed. Retention: rows older than
`retention_days` are deleted every hour.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from ..matching.types import Decision, Entry, MatchResult, Mode
from ..ops.config import QuestionLogConfig
from ..store import LoggedQuestion, Store, StoreError

log = logging.getLogger("faqbot.question_log")

BATCH = 200
RETRY_S = (0.5, 1.0, 2.0, 5.0)  # a batch that cannot be written waits this long between tries, then is dropped
PRUNE_EVERY_S = 3600.0


def entry_key(entry: Entry) -> str:
    """"pack/id" when the entry knows its pack, else the id (learned entries have no pack)."""
    pack = getattr(entry, "pack", "") or ""
    return f"{pack}/{entry.id}" if pack else entry.id


def logged_question(
    result: MatchResult, platform: str, channel: str, replied: bool, config: QuestionLogConfig,
    user: str = "", at: Optional[datetime] = None,
) -> Optional[LoggedQuestion]:
    """The record for one handled message, or None when it is not to be logged. Pure."""
    if not result.text.strip():
        return None
    if result.mode is Mode.REPLY:
        decision = {Decision.ANSWER: "answer", Decision.SUGGEST: "suggest"}.get(result.decision, "unknown")
    elif result.answered and replied:
        decision = "answer"
    elif result.score >= config.log_ambient_near_misses_above and result.candidates:
        decision = "quiet"
    else:
        return None
    answered = entry_key(result.entry) if decision == "answer" and result.entry else ""
    return LoggedQuestion(
        at=at or datetime.now(timezone.utc), platform=platform, channel=str(channel), text=result.text,
        mode=result.mode.value, decision=decision,
        top=tuple((entry_key(c.entry), round(float(c.score), 4)) for c in result.candidates[:5]),
        answered=answered, user=str(user) if config.keep_user_ids and user else "",
    )


class QuestionLog:
    """The background writer. `observe()` never blocks and never raises."""

    def __init__(self, store: Store, config: QuestionLogConfig, count: Optional[Callable[[str, float], None]] = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.store = store
        self.config = config
        self._count = count or (lambda name, amount: None)
        self._clock = clock
        self._queue: "queue.Queue[Optional[LoggedQuestion]]" = queue.Queue(maxsize=config.queue_size)
        self._thread: Optional[threading.Thread] = None
        self._start_lock = threading.Lock()
        self._idle = threading.Condition()
        self._pending = 0  # queued or being written
        self._stopping = threading.Event()
        self._last_prune: Optional[float] = None  # the first batch prunes, then hourly
        self.written = 0
        self.dropped = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        """Records observed and not yet written (or given up)."""
        return self._pending

    def observe(self, platform: str, channel: str, result: Optional[MatchResult], replied: bool = True, user: str = "") -> None:
        if result is None or not self.config.enabled or self._stopping.is_set():
            return
        try:
            record = logged_question(result, platform, channel, replied, self.config, user, self._clock())
        except Exception:  # a logging bug must never cost an answer
            log.exception("question log: cannot build a record")
            return
        if record is not None:
            self.put(record)

    def put(self, record: LoggedQuestion) -> bool:
        self._ensure_started()
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
            self.dropped += 1
            self._count("question_log_dropped", 1.0)
            return False
        return True

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="faqbot-question-log", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._write(batch)
            self._maybe_prune()
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()

    def _write(self, batch: list[LoggedQuestion]) -> None:
        for attempt, pause in enumerate((0.0, *RETRY_S)):
            if pause:
                if self._stopping.wait(pause):
                    pause = 0.0
            try:
                self.store.log_questions(batch)
                self.written += len(batch)
                self._count("questions_logged", float(len(batch)))
                return
            except StoreError as exc:
                if attempt == len(RETRY_S) or self._stopping.is_set():
                    log.error("question log: %d record(s) not written: %s", len(batch), exc)
                    break
            except Exception:
                log.exception("question log: %d record(s) not written", len(batch))
                break
        self.failed += len(batch)
        self._count("question_log_failed", float(len(batch)))

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY_S:
            return
        self._last_prune = now
        try:
            gone = self.store.prune_questions(self._clock() - timedelta(days=self.config.retention_days))
            if gone:
                log.info("question log: deleted %d question(s) older than %d days", gone, self.config.retention_days)
        except StoreError as exc:
            log.error("question log: cannot prune: %s", exc)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything observed so far is written (or given up); True when done in time."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (within `timeout`), then stop the writer."""
        self.flush(timeout)
        self._stopping.set()
        if self._thread is not None:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass
            self._thread.join(timeout)
