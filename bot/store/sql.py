"""The store: everything the bot learns and records, in one SQL database.

One `Store` per process (several processes may share a PostgreSQL database,
or an SQLite file on one machine). It keeps the interface the file store had,
so `bot.learning.learning.Learner` is unchanged in spirit:

- `load()` is the learned knowledge now (a consistent snapshot, cached by
  revision, so reading it when nothing changed costs one small query);
- `transaction()` takes the database's write lock (PostgreSQL: the state row
  `FOR UPDATE`; SQLite: `BEGIN IMMEDIATE`), hands over the knowledge as
  committed by every process, and `commit()` writes the difference and
  commits before it returns: acknowledged means durable;
- `revision()` is one integer other processes poll to notice a change.

Plus the records other modules read and write: the audit log, feedback votes,
claimed event ids (a unique insert: the first process to claim an event
answers it) and the question log (`bot.learning.question_log` writes it in the
background). Every database failure surfaces as StoreError with a readable
message (the URL's password masked); `health()` says whether the database
answered last time.

The schema is opened lazily: nothing is created until something is written
or read from an existing database, so a listing over a missing data
directory does not create one.
"""
from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from . import schema as t
from .database import WRITE, connect, resolve_url, safe_url, upgrade
from .files import DEFAULT_KEEP_EVENTS, AuditRecord, EventMark, EventState, Knowledge, LearnedAlias, LearnedEntry
from .files import Rejection, Source, StoreError, check_readable
from .questions import LoggedQuestion, question_from_row, question_row

log = logging.getLogger("faqbot.store")

CLAIM_MEMORY = timedelta(hours=2)  # Slack retries for about an hour; QQ redeliveries come within seconds
PRUNE_CLAIMS_EVERY = 500


@dataclass(frozen=True)
class StoreHealth:
    ok: bool  # the last database operation succeeded
    dialect: str
    url: str  # password masked
    error: str = ""  # the last failure, while not ok
    failures: int = 0  # database operations failed since the start


@dataclass(frozen=True)
class _Rows:
    """Row ids of aliases and rejections by value, so a change deletes exactly the rows it removed."""

    aliases: dict[LearnedAlias, tuple[int, ...]]
    rejections: dict[Rejection, tuple[int, ...]]


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """Text as both engines store it: NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8 form) become U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


def _storable_record(record: Any) -> Any:
    changes = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if isinstance(value, str) and _UNSTORABLE.search(value):
            changes[f.name] = storable(value)
        elif isinstance(value, tuple) and any(isinstance(v, str) and _UNSTORABLE.search(v) for v in value):
            changes[f.name] = tuple(storable(v) if isinstance(v, str) else v for v in value)
        elif is_dataclass(value):
            fixed = _storable_record(value)
            if fixed is not value:
                changes[f.name] = fixed
    return replace(record, **changes) if changes else record


def storable_knowledge(k: Knowledge, old: Knowledge) -> Knowledge:
    """`k` with every text storable. Records carried over from `old` (the same objects: every
    Knowledge change reuses them) were checked when they were written; only new ones are."""

    def fixed(records: tuple, before: tuple) -> tuple:
        seen = {id(r) for r in before}
        return tuple(r if id(r) in seen else _storable_record(r) for r in records)

    return replace(
        k, entries=fixed(k.entries, old.entries), aliases=fixed(k.aliases, old.aliases),
        rejections=fixed(k.rejections, old.rejections), events=fixed(k.events, old.events),
    )


def _same(a: Any, b: Any) -> bool:
    return a is b or a == b


def _utc(at: Optional[datetime] = None) -> datetime:
    at = at or datetime.now(timezone.utc)
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _ids(raw: str) -> tuple[str, ...]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _entry_row(e: LearnedEntry) -> dict:
    s = e.source
    return dict(entry_id=e.id, n=e.n, question=e.question, answer=e.answer, platform=s.platform, channel=s.channel,
                message_ids=json.dumps(list(s.message_ids), ensure_ascii=False), permalink=s.permalink,
                created_by=e.created_by, created_at=e.created_at, event=e.event)


def _entry(r: Any) -> LearnedEntry:
    return LearnedEntry(r.entry_id, r.n, r.question, r.answer, Source(r.platform, r.channel, _ids(r.message_ids), r.permalink),
                        r.created_by, r.created_at, r.event)


def _alias_row(a: LearnedAlias) -> dict:
    return dict(entry_id=a.entry_id, text=a.text, who=a.who, at=a.when, event=a.event)


def _rejection_row(r: Rejection) -> dict:
    return dict(query=r.query, entry_id=r.entry_id, who=r.who, at=r.when, event=r.event)


def _audit_row(a: AuditRecord) -> dict:
    a = _storable_record(a)
    return {**vars(a), "message_ids": json.dumps(list(a.message_ids), ensure_ascii=False)}


class Transaction:
    """The store under its write lock: `knowledge` is what every process has committed."""

    def __init__(self, store: "Store", conn: Connection, knowledge: Knowledge, rows: _Rows):
        self._store = store
        self._conn = conn
        self.knowledge = knowledge
        self._rows = rows
        self.committed = False

    def commit(self, knowledge: Knowledge) -> Knowledge:
        """Write `knowledge` as the next revision and commit it (with any audit records added before)."""
        if self.committed:
            raise StoreError("a store transaction commits once")
        check_readable(knowledge)
        knowledge = replace(storable_knowledge(knowledge, self.knowledge), revision=self.knowledge.revision + 1)
        rows = self._store._write_diff(self._conn, self.knowledge, knowledge, self._rows)
        self._store._commit(self._conn)
        self.committed = True
        self._store._remember(knowledge, rows)
        self.knowledge, self._rows = knowledge, rows
        return knowledge

    def audit(self, record: AuditRecord) -> None:
        """Append to the audit log: in this transaction, or in one of its own after the commit."""
        self._conn.execute(insert(t.audit_log), [_audit_row(record)])
        if self.committed:  # the change is committed already: this record commits on its own
            self._store._commit(self._conn)


class Store:
    """The database behind one data directory (or `database.url`). Thread-safe."""

    def __init__(self, data_dir: str | os.PathLike, keep_events: int = DEFAULT_KEEP_EVENTS, url: str = "",
                 import_files: bool = True):
        self.dir = Path(data_dir)
        self.url = resolve_url(self.dir, url)
        self.keep_events = keep_events
        self.import_files = import_files
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._engine: Optional[Engine] = None
        self._open_lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer per process; the database serialises processes
        self._cache: tuple[int, Knowledge, _Rows] = (-1, Knowledge(), _Rows({}, {}))
        self._cache_lock = threading.Lock()
        self._health = StoreHealth(True, self.dialect, safe_url(self.url))
        self._claims = 0

    # -- connecting --------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        return self.url.split(":", 1)[0].split("+", 1)[0]

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def _sqlite_path(self) -> Optional[Path]:
        if not self.is_sqlite:
            return None
        from sqlalchemy.engine import make_url

        database = make_url(self.url).database
        return Path(database) if database and database != ":memory:" else None

    def exists(self) -> bool:
        """False only for an SQLite file not created yet with no old files to import (reads see nothing)."""
        path = self._sqlite_path()
        if path is None or path.exists() or self._engine is not None:
            return True
        from .legacy import LEGACY_FILES

        return self.import_files and any((self.dir / name).exists() for name in LEGACY_FILES)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, migrated to the newest revision and with old files imported."""
        if self._engine is None:
            with self._open_lock:
                if self._engine is None:
                    self._engine = self._open()
        return self._engine

    def _open(self) -> Engine:
        with self._failures("open the database"):
            engine = connect(self.url)
            try:
                upgrade(engine)
                if self.import_files:
                    from .legacy import import_data_dir

                    import_data_dir(self, engine)
            except BaseException:
                engine.dispose()
                raise
            return engine

    def close(self) -> None:
        with self._open_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    @contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        """Database errors as StoreError naming what failed (password masked); health follows."""
        try:
            yield
        except StoreError as exc:
            if not getattr(exc, "counted", False):  # an inner _failures() counted it already
                exc.counted = True
                self._failed(str(exc))
            raise
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None) or exc
            message = f"database {safe_url(self.url)}: cannot {doing}: {type(orig).__name__}: {str(orig).strip().splitlines()[0] if str(orig).strip() else ''}"
            self._failed(message)
            error = StoreError(message)
            error.counted = True
            raise error from exc
        except OSError as exc:
            message = f"{self.dir}: cannot {doing}: {exc.strerror or exc}"
            self._failed(message)
            error = StoreError(message)
            error.counted = True
            raise error from exc
        else:
            if not self._health.ok:
                log.info("database %s answers again", self._health.url)
            self._health = replace(self._health, ok=True, error="")

    def _failed(self, message: str) -> None:
        if self._health.ok:
            log.error("%s", message)
        self._health = replace(self._health, ok=False, error=message, failures=self._health.failures + 1)

    def health(self, probe: bool = False) -> StoreHealth:
        """The database's state as last seen; `probe` asks it now (SELECT 1)."""
        if probe and self.exists():
            try:
                with self._failures("reach the database"), self.engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
            except StoreError:
                pass
        return self._health

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot (SQLite WAL; PostgreSQL REPEATABLE READ)."""
        engine = self.engine
        options = {} if self.is_sqlite else {"isolation_level": "REPEATABLE READ"}
        with engine.connect().execution_options(**options) as conn, conn.begin():
            yield conn

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction, committed at the end unless it raised."""
        engine = self.engine
        with self._write_lock, engine.connect().execution_options(**{WRITE: True}) as conn:
            with conn.begin():
                yield conn

    def _commit(self, conn: Connection) -> None:
        conn.commit()

    # -- learned knowledge --------------------------------------------------------------
    def revision(self) -> int:
        """The learned knowledge's revision as committed (0 before anything was learned)."""
        if not self.exists():
            return 0
        with self._failures("read the revision"), self.engine.connect() as conn:
            return int(conn.execute(select(t.state.c.revision).where(t.state.c.id == 1)).scalar_one())

    def load(self) -> Knowledge:
        """What is learned now, as committed by every process."""
        if not self.exists():
            return Knowledge()
        with self._failures("read the learned knowledge"), self.reading() as conn:
            return self._knowledge(conn, conn.execute(select(t.state).where(t.state.c.id == 1)).one())[0]

    def _knowledge(self, conn: Connection, state_row: Any) -> tuple[Knowledge, _Rows]:
        with self._cache_lock:
            revision, knowledge, rows = self._cache
        if revision == state_row.revision:
            return knowledge, rows
        entries = tuple(_entry(r) for r in conn.execute(select(t.learned_entries).order_by(t.learned_entries.c.row)))
        alias_rows: dict[LearnedAlias, tuple[int, ...]] = {}
        for r in conn.execute(select(t.learned_aliases).order_by(t.learned_aliases.c.row)):
            a = LearnedAlias(r.entry_id, r.text, r.who, r.at, r.event)
            alias_rows[a] = alias_rows.get(a, ()) + (r.row,)
        rejection_rows: dict[Rejection, tuple[int, ...]] = {}
        for r in conn.execute(select(t.rejections).order_by(t.rejections.c.row)):
            rej = Rejection(r.query, r.entry_id, r.who, r.at, r.event)
            rejection_rows[rej] = rejection_rows.get(rej, ()) + (r.row,)
        events = tuple(
            EventMark(r.key, EventState(r.state), r.at)
            for r in conn.execute(select(t.gesture_events).order_by(t.gesture_events.c.row))
        )
        knowledge = Knowledge(
            revision=int(state_row.revision), next_n=int(state_row.next_n), entries=entries,
            aliases=tuple(a for a, rs in alias_rows.items() for _ in rs),
            rejections=tuple(r for r, rs in rejection_rows.items() for _ in rs), events=events,
        )
        rows = _Rows(alias_rows, rejection_rows)
        self._remember(knowledge, rows)
        return knowledge, rows

    def _remember(self, knowledge: Knowledge, rows: _Rows) -> None:
        with self._cache_lock:
            if knowledge.revision >= self._cache[0]:
                self._cache = (knowledge.revision, knowledge, rows)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Exclusive access between threads and processes, with the knowledge as committed; not re-entrant."""
        with self._failures("write the learned knowledge"), self.writing() as conn:
            state_row = conn.execute(select(t.state).where(t.state.c.id == 1).with_for_update()).one()
            knowledge, rows = self._knowledge(conn, state_row)
            yield Transaction(self, conn, knowledge, rows)

    def _write_diff(self, conn: Connection, old: Knowledge, new: Knowledge, rows: _Rows) -> _Rows:
        """Write what changed from `old` to `new`; returns the row ids of `new`'s aliases and rejections."""
        old_entries = {e.id: e for e in old.entries}
        new_entries = {e.id: e for e in new.entries}
        gone = [i for i, e in old_entries.items() if not _same(new_entries.get(i), e)]
        if gone:
            conn.execute(delete(t.learned_entries).where(t.learned_entries.c.entry_id.in_(gone)))
        added = [_entry_row(e) for i, e in new_entries.items() if not _same(old_entries.get(i), e)]
        if added:
            conn.execute(insert(t.learned_entries), added)
        aliases = self._write_multiset(conn, t.learned_aliases, old.aliases, new.aliases, rows.aliases, _alias_row)
        rejections = self._write_multiset(conn, t.rejections, old.rejections, new.rejections, rows.rejections, _rejection_row)
        old_marks = {m.key: m for m in old.events}
        new_marks = {m.key: m for m in new.events}
        stale = [k for k, m in old_marks.items() if not _same(new_marks.get(k), m)]
        for i in range(0, len(stale), 500):
            conn.execute(delete(t.gesture_events).where(t.gesture_events.c.key.in_(stale[i:i + 500])))
        fresh = [dict(key=m.key, state=m.state.value, at=m.at) for m in new.events if not _same(old_marks.get(m.key), m)]
        if fresh:
            conn.execute(insert(t.gesture_events), fresh)
        conn.execute(update(t.state).where(t.state.c.id == 1).values(revision=new.revision, next_n=new.next_n))
        return _Rows(aliases, rejections)

    @staticmethod
    def _write_multiset(conn: Connection, table: Any, old: tuple, new: tuple, rows: dict, to_row: Any) -> dict:
        removed = Counter(old) - Counter(new)
        added = Counter(new) - Counter(old)
        rows = dict(rows)
        doomed: list[int] = []
        for value, count in removed.items():
            have = rows.get(value, ())
            doomed += have[:count]
            rows[value] = have[count:]
            if not rows[value]:
                del rows[value]
        if doomed:
            conn.execute(delete(table).where(table.c.row.in_(doomed)))
        for value, count in added.items():
            for _ in range(count):
                row_id = conn.execute(insert(table).values(**to_row(value))).inserted_primary_key[0]
                rows[value] = rows.get(value, ()) + (int(row_id),)
        return rows

    # -- audit log --------------------------------------------------------------------------
    def append_audit(self, record: AuditRecord) -> None:
        try:
            with self._failures("append to the audit log"), self.writing() as conn:
                conn.execute(insert(t.audit_log), [_audit_row(record)])
        except StoreError:
            # the change itself is already committed; a lost audit line is logged, not fatal
            log.error("audit record not written: %s", record)

    def read_audit(self) -> list[dict]:
        """Every audit record, oldest first, as plain dicts (message_ids a list)."""
        if not self.exists():
            return []
        with self._failures("read the audit log"), self.reading() as conn:
            rows = conn.execute(select(t.audit_log).order_by(t.audit_log.c.row)).mappings().all()
        return [{**{k: v for k, v in r.items() if k != "row"}, "message_ids": list(_ids(r["message_ids"]))} for r in rows]

    # -- feedback votes ----------------------------------------------------------------------
    def record_vote(self, vote: Any) -> None:
        """One vote per user per answer message: a later one replaces the earlier (and moves last)."""
        with self._failures("record a vote"), self.writing() as conn:
            c = t.feedback_votes.c
            conn.execute(delete(t.feedback_votes).where(c.platform == vote.platform, c.answer == vote.answer, c.user == vote.user))
            conn.execute(insert(t.feedback_votes), [{k: storable(v) for k, v in vars(vote).items()}])

    def votes(self, entry_id: Optional[str] = None) -> list[dict]:
        if not self.exists():
            return []
        query = select(t.feedback_votes).order_by(t.feedback_votes.c.row)
        if entry_id is not None:
            query = query.where(t.feedback_votes.c.entry_id == entry_id)
        with self._failures("read the votes"), self.reading() as conn:
            return [{k: v for k, v in r.items() if k != "row"} for r in conn.execute(query).mappings()]

    # -- handled events ------------------------------------------------------------------------
    def claim_event(self, key: str, at: Optional[datetime] = None) -> bool:
        """True for the first process (and call) to claim this event key, False for every later one.

        A unique insert, so it holds across processes; StoreError when the
        database cannot be reached (the caller decides whether to answer anyway).
        """
        now = _utc(at)
        with self._failures("claim an event"):
            try:
                with self.engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
                    conn.execute(insert(t.handled_events).values(key=storable(key[:500]), at=now, owner=self.owner))
            except IntegrityError:
                return False
        self._claims += 1
        if self._claims % PRUNE_CLAIMS_EVERY == 0:
            self.prune_claims(now - CLAIM_MEMORY)
        return True

    def prune_claims(self, older_than: datetime) -> int:
        with self._failures("prune event claims"), self.writing() as conn:
            return conn.execute(delete(t.handled_events).where(t.handled_events.c.at < _utc(older_than))).rowcount

    # -- the question log ---------------------------------------------------------------------
    def log_question(self, q: LoggedQuestion) -> int:
        """Store one question; returns its id."""
        with self._failures("log a question"), self.writing() as conn:
            return int(conn.execute(insert(t.question_log).values(**question_row(q))).inserted_primary_key[0])

    def log_questions(self, batch: Sequence[LoggedQuestion]) -> int:
        """Store several questions in one transaction (the background writer's path)."""
        if not batch:
            return 0
        with self._failures("log questions"), self.writing() as conn:
            conn.execute(insert(t.question_log), [question_row(q) for q in batch])
        return len(batch)

    def questions(self, since: Optional[datetime] = None, decisions: Optional[Sequence[str]] = None,
                  limit: Optional[int] = None) -> list[LoggedQuestion]:
        """Logged questions, newest first; `since` inclusive."""
        if not self.exists():
            return []
        c = t.question_log.c
        query = select(t.question_log).order_by(c.at.desc(), c.id.desc())
        if since is not None:
            query = query.where(c.at >= _utc(since))
        if decisions is not None:
            query = query.where(c.decision.in_(list(decisions)))
        if limit is not None:
            query = query.limit(max(int(limit), 0))
        with self._failures("read the question log"), self.reading() as conn:
            return [question_from_row(r) for r in conn.execute(query)]

    def count_questions(self) -> int:
        if not self.exists():
            return 0
        with self._failures("count the question log"), self.reading() as conn:
            return int(conn.execute(select(func.count()).select_from(t.question_log)).scalar_one())

    def prune_questions(self, older_than: datetime) -> int:
        """Delete questions logged before `older_than`; returns how many."""
        with self._failures("prune the question log"), self.writing() as conn:
            return conn.execute(delete(t.question_log).where(t.question_log.c.at < _utc(older_than))).rowcount

