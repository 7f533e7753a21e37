"""The learned-knowledge values, and the file format the store used before the database.

`Knowledge` and its records are the values the store hands to `bot.learning`;
`FileStore` reads (and, for tests of the upgrade path, writes) the pre-database
data directory, which `bot.store.legacy` imports into the database once:

    learned.yaml   learned entries, aliases, rejections and recent gesture keys
    audit.log      append-only JSON lines: who did what, where, and the result
    .lock          taken with flock() for every change

Nothing acknowledged may be lost, so every change is a transaction: take the
thread lock and the file lock, re-read learned.yaml (another process may have
written it), apply the change, write a temporary file in the same directory,
fsync it, rename it over learned.yaml and fsync the directory. A crash at any
point leaves the old file or the new one, never a torn one. A learned.yaml
that does not parse is refused, never replaced: only a hand edit can break it.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import yaml

from ..commands import parse_number

log = logging.getLogger("faqbot.store")

LEARNED_FILE = "learned.yaml"
AUDIT_FILE = "audit.log"
LOCK_FILE = ".lock"
TMP_PREFIX = f".{LEARNED_FILE}."
TMP_SUFFIX = ".tmp"
FORMAT_VERSION = 1
LEARNED_SECTION = "learned"  # the section learned entries get, so `/faq list learned` shows them
DEFAULT_KEEP_EVENTS = 1000
HEADER = (
    "# faqbot: knowledge learned in chat. Written by the bot, atomically.\n"
    "# Edit only while the bot is stopped; review with `faqbot knowledge learned`,\n"
    "# turn into a pack with `faqbot knowledge export`.\n"
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StoreError(OSError):
    """The store cannot be read or written; the message names the file or the database (password masked)."""


@dataclass(frozen=True)
class Source:
    """Where a learned text came from, so a reviewer can find the conversation."""

    platform: str = ""
    channel: str = ""
    message_ids: tuple[str, ...] = ()
    permalink: str = ""


@dataclass(frozen=True)
class LearnedEntry:
    id: str
    n: int
    question: str
    answer: str
    source: Source
    created_by: str  # "<platform>:<user id>"
    created_at: str  # ISO 8601, UTC
    event: str  # the gesture that created it (undo finds it by this key)


@dataclass(frozen=True)
class LearnedAlias:
    entry_id: str
    text: str
    who: str
    when: str
    event: str


@dataclass(frozen=True)
class Rejection:
    query: str  # normalised, as the engine compares it
    entry_id: str
    who: str
    when: str
    event: str


class EventState(str, Enum):
    APPLIED = "applied"
    UNDONE = "undone"  # a later delivery of the same gesture key applies it again (the reaction was re-added)


@dataclass(frozen=True)
class EventMark:
    key: str
    state: EventState
    at: str


LearnedRecord = Union[LearnedEntry, LearnedAlias, Rejection]


@dataclass(frozen=True)
class Knowledge:
    """One version of learned.yaml. Pure value: every change returns a new one."""

    revision: int = 0
    next_n: int = 0
    entries: tuple[LearnedEntry, ...] = ()
    aliases: tuple[LearnedAlias, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    events: tuple[EventMark, ...] = ()  # oldest first, bounded

    def event_state(self, key: str) -> Optional[EventState]:
        for mark in reversed(self.events):
            if mark.key == key:
                return mark.state
        return None

    def records_of(self, key: str) -> tuple[LearnedRecord, ...]:
        return tuple(r for r in (*self.entries, *self.aliases, *self.rejections) if r.event == key)

    def has_applied(self, key: str) -> bool:
        """True when this gesture was applied and not undone (so a redelivery must change nothing)."""
        state = self.event_state(key)
        return state is EventState.APPLIED or (state is None and bool(self.records_of(key)))

    def entry(self, key: str) -> Optional[LearnedEntry]:
        key = str(key).strip().lstrip("#")
        number = parse_number(key)  # ASCII digits only: `²` is a digit to isdigit() but not to int()
        return next((e for e in self.entries if e.id == key or (number is not None and e.n == number)), None)

    def aliases_of(self, entry_id: str) -> tuple[LearnedAlias, ...]:
        return tuple(a for a in self.aliases if a.entry_id == entry_id)

    def with_entry(self, entry: LearnedEntry) -> "Knowledge":
        return replace(self, entries=self.entries + (entry,), next_n=max(self.next_n, entry.n + 1))

    def with_alias(self, alias: LearnedAlias) -> "Knowledge":
        return replace(self, aliases=self.aliases + (alias,))

    def with_rejection(self, rejection: Rejection) -> "Knowledge":
        return replace(self, rejections=self.rejections + (rejection,))

    def without_event(self, key: str) -> "Knowledge":
        """Everything one gesture added, removed (and what hung on an entry it created)."""
        gone = {e.id for e in self.entries if e.event == key}
        return self._without(lambda r: r.event == key, gone)

    def without_entry(self, entry_id: str) -> "Knowledge":
        return self._without(lambda r: isinstance(r, LearnedEntry) and r.id == entry_id, {entry_id})

    def _without(self, drop, gone_ids: set[str]) -> "Knowledge":
        return replace(
            self,
            entries=tuple(e for e in self.entries if not drop(e)),
            aliases=tuple(a for a in self.aliases if not drop(a) and a.entry_id not in gone_ids),
            rejections=tuple(r for r in self.rejections if not drop(r) and r.entry_id not in gone_ids),
        )

    def marked(self, key: str, state: EventState, at: str, keep: int) -> "Knowledge":
        events = tuple(m for m in self.events if m.key != key) + (EventMark(key, state, at),)
        return replace(self, events=events[-max(keep, 1):])


@dataclass(frozen=True)
class AuditRecord:
    """One line of audit.log: every gesture, accepted or not."""

    at: str
    who: str
    platform: str
    channel: str
    message_ids: tuple[str, ...]
    action: str  # teach_pair, confirm_alias, reject, undo, forget
    event: str
    result: str  # the outcome (created, not_maintainer, duplicate_event, ...)
    entry_id: str = ""
    detail: str = ""


# -- the file format ---------------------------------------------------------


# YAML written by hand: PyYAML's representer costs ~0.3 ms per learned item on
# every commit, this costs a few microseconds. Strings are double-quoted (JSON
# escapes are YAML escapes) or, when they span lines and need no escaping,
# literal blocks, so answers read as they were written. Anything YAML 1.1 would
# not read back verbatim (NEL, U+2028/9, BOM, C1 controls) is escaped. A lone
# surrogate (from a broken JSON payload) has no UTF-8 form and becomes U+FFFD.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BLOCK_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def _quoted(text: str) -> str:
    text = json.dumps(_SURROGATE.sub("\ufffd", text), ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _is_block(text: str) -> bool:
    lines = text.split("\n")
    return (
        len(lines) > 1 and text == text.strip() and not _BLOCK_UNSAFE.search(text)
        and all(line == "" or line.strip() for line in lines)
    )


def _inline(value: Any, indent: int) -> str:
    if isinstance(value, bool) or value is None:
        raise TypeError(f"unexpected value {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"  # only empty ones are written inline
    text = str(value)
    if _is_block(text):
        pad = " " * indent
        return "|-\n" + "\n".join(pad + line if line else "" for line in text.split("\n"))
    return _quoted(text)


def _yaml_lines(value: Any, indent: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            key = key if key in _FIELD_NAMES else _quoted(key)  # data as keys (ids, event keys) is always quoted
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines += _yaml_lines(item, indent + 2)
            else:
                lines.append(f"{pad}{key}: {_inline(item, indent + 2)}")
        return lines
    for item in value:
        if isinstance(item, dict) and item:
            sub = _yaml_lines(item, indent + 2)
            lines.append(f"{pad}- {sub[0][indent + 2:]}")
            lines += sub[1:]
        else:
            lines.append(f"{pad}- {_inline(item, indent + 2)}")
    return lines


_FIELD_NAMES = frozenset(
    ["version", "revision", "next_n", "entries", "aliases", "rejections", "events", "source", "platform", "channel",
     "message_ids", "permalink", "id", "n", "question", "answer", "created_by", "created_at", "event", "text", "who",
     "when", "query", "entry_id"]
)


def to_yaml(data: dict | list) -> str:
    """Block-style YAML of nested dicts, lists, strings and whole numbers."""
    return "\n".join(_yaml_lines(data) if data else [_inline(data, 0)]) + "\n"


def _source_data(s: Source) -> dict:
    return {"platform": s.platform, "channel": s.channel, "message_ids": list(s.message_ids), "permalink": s.permalink}


def _record_data(record: Any, skip: tuple[str, ...] = ()) -> dict:
    return {k: v for k, v in vars(record).items() if k not in skip}


def dump_knowledge(k: Knowledge) -> str:
    aliases: dict[str, list[dict]] = {}
    for a in k.aliases:
        aliases.setdefault(a.entry_id, []).append(_record_data(a, skip=("entry_id",)))
    data = {
        "version": FORMAT_VERSION,
        "revision": k.revision,
        "next_n": k.next_n,
        "entries": [{**_record_data(e), "source": _source_data(e.source)} for e in k.entries],
        "aliases": aliases,
        "rejections": [_record_data(r) for r in k.rejections],
        # one line per gesture key: "<state> <when>", oldest first
        "events": {m.key: f"{m.state.value} {m.at}" for m in k.events},
    }
    return HEADER + to_yaml(data)


class _Reader:
    """Turns parsed YAML into Knowledge; every problem names the file and the place."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, problem: str) -> StoreError:
        return StoreError(
            f"{self.path}: {where}: {problem}. The file was not changed; fix it by hand "
            f"or restore it from a backup (the bot refuses to start over it)"
        )

    def text(self, data: dict, key: str, where: str, required: bool = True) -> str:
        value = data.get(key)
        if value is None or value == "":  # whatever the store writes it reads back, blanks included
            if required:
                raise self.fail(where, f"missing '{key}'")
            return ""
        if isinstance(value, (dict, list)):
            raise self.fail(where, f"'{key}' must be text")
        return str(value)

    def mapping(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a mapping")
        return value

    def items(self, data: dict, key: str) -> list:
        value = data.get(key) or []
        if not isinstance(value, list):
            raise self.fail(key, "must be a list")
        return value

    def number(self, data: dict, key: str, where: str) -> int:
        value = data.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(where, f"'{key}' must be a non-negative whole number")
        return value

    def knowledge(self, data: Any) -> Knowledge:
        data = self.mapping(data, "top level")
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise self.fail("version", f"unknown format version {data.get('version')!r} (this bot reads {FORMAT_VERSION})")
        return Knowledge(
            revision=self.number(data, "revision", "revision"),
            next_n=self.number(data, "next_n", "next_n"),
            entries=tuple(self.entry(self.mapping(e, f"entries[{i}]"), f"entries[{i}]") for i, e in enumerate(self.items(data, "entries"))),
            aliases=self.aliases(data.get("aliases") or {}),
            rejections=tuple(self.rejection(self.mapping(r, f"rejections[{i}]"), f"rejections[{i}]") for i, r in enumerate(self.items(data, "rejections"))),
            events=tuple(self.event(str(key), value) for key, value in self.mapping(data.get("events") or {}, "events").items()),
        )

    def entry(self, e: dict, where: str) -> LearnedEntry:
        s = self.mapping(e.get("source") or {}, f"{where}.source")
        ids = s.get("message_ids") or []
        return LearnedEntry(
            id=self.text(e, "id", where),
            n=self.number(e, "n", where),
            question=self.text(e, "question", where),
            answer=self.text(e, "answer", where),
            source=Source(
                platform=self.text(s, "platform", where, False),
                channel=self.text(s, "channel", where, False),
                message_ids=tuple(str(m) for m in (ids if isinstance(ids, list) else [ids])),
                permalink=self.text(s, "permalink", where, False),
            ),
            created_by=self.text(e, "created_by", where, False),
            created_at=self.text(e, "created_at", where, False),
            event=self.text(e, "event", where, False),
        )

    def aliases(self, data: Any) -> tuple[LearnedAlias, ...]:
        out = []
        for entry_id, items in self.mapping(data, "aliases").items():
            if not isinstance(items, list):
                raise self.fail(f"aliases.{entry_id}", "must be a list")
            for i, a in enumerate(items):
                where = f"aliases.{entry_id}[{i}]"
                a = self.mapping(a, where)
                out.append(LearnedAlias(str(entry_id), self.text(a, "text", where), self.text(a, "who", where, False),
                                        self.text(a, "when", where, False), self.text(a, "event", where, False)))
        return tuple(out)

    def rejection(self, r: dict, where: str) -> Rejection:
        return Rejection(self.text(r, "query", where), self.text(r, "entry_id", where), self.text(r, "who", where, False),
                         self.text(r, "when", where, False), self.text(r, "event", where, False))

    def event(self, key: str, value: Any) -> EventMark:
        state, _, at = str(value).partition(" ")
        if state not in {s.value for s in EventState}:
            raise self.fail(f"events.{key}", f"unknown state {state!r} (applied or undone)")
        return EventMark(key, EventState(state), at)


def parse_knowledge(raw: bytes, path: Path) -> Knowledge:
    reader = _Reader(path)
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_Loader)
    except UnicodeDecodeError as exc:
        raise reader.fail("encoding", f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise reader.fail(where, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from exc
    if data is None:
        raise reader.fail("content", "the file is empty")
    return reader.knowledge(data)


# -- the directory -------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file, whole."""
    tmp = path.with_name(f"{TMP_PREFIX}{os.getpid()}.{threading.get_ident()}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


_UNREAD = object()


def _check_readable(k: Knowledge) -> None:
    """Never write a file the next start would refuse: the fields the reader requires are set."""
    required = [(f"entry {e.id!r}", (e.id, e.question, e.answer)) for e in k.entries]
    required += [(f"alias of {a.entry_id!r}", (a.entry_id, a.text)) for a in k.aliases]
    required += [(f"rejection of {r.entry_id!r}", (r.query, r.entry_id)) for r in k.rejections]
    required += [("an event mark", (m.key,)) for m in k.events]
    for what, values in required:
        if not all(values):
            raise StoreError(f"refusing to write {what}: a required field is empty")


class Transaction:
    """The store, locked and freshly read: `knowledge` is what is on disk now."""

    def __init__(self, store: "FileStore", knowledge: Knowledge):
        self._store = store
        self.knowledge = knowledge

    def commit(self, knowledge: Knowledge) -> Knowledge:
        """Write `knowledge` as the next revision; returns what was written."""
        _check_readable(knowledge)
        knowledge = replace(knowledge, revision=self.knowledge.revision + 1)
        self._store._write(knowledge)
        self.knowledge = knowledge
        return knowledge

    def audit(self, record: AuditRecord) -> None:
        self._store._append_audit(record)


class FileStore:
    def __init__(self, data_dir: str | Path, keep_events: int = DEFAULT_KEEP_EVENTS):
        self.dir = Path(data_dir)
        self.path = self.dir / LEARNED_FILE
        self.audit_path = self.dir / AUDIT_FILE
        self.keep_events = keep_events
        self._thread_lock = threading.Lock()
        self._raw: object = _UNREAD  # the bytes last read or written, and what they parse to
        self._cached = Knowledge()

    # -- reading ---------------------------------------------------------------
    def load(self) -> Knowledge:
        """What is on disk now (a consistent snapshot: files are only ever renamed into place)."""
        with self._thread_lock:
            return self._read()

    def read_audit(self) -> list[dict]:
        """Every audit line; a line torn by a crash mid-append is skipped, not fatal."""
        try:
            text = self.audit_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("%s: skipping an unreadable line: %.80s", self.audit_path, line)
        return out

    def _read(self) -> Knowledge:
        try:
            raw: Optional[bytes] = self.path.read_bytes()
        except FileNotFoundError:
            raw = None  # nothing learned yet (an empty file, by contrast, is damage)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        if raw != self._raw:  # bytes compare exactly, unlike mtimes (and _UNREAD equals nothing)
            self._cached = Knowledge() if raw is None else parse_knowledge(raw, self.path)
            self._raw = raw
        return self._cached

    # -- changing ----------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Exclusive access between threads and processes; not re-entrant."""
        with self._thread_lock:
            try:
                self.dir.mkdir(parents=True, exist_ok=True)  # created on the first change, not by a listing
                fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StoreError(f"{self.dir}: cannot create the data directory or its lock file: {exc.strerror or exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield Transaction(self, self._read())
            finally:
                os.close(fd)  # closing releases the flock

    def _write(self, knowledge: Knowledge) -> None:
        data = dump_knowledge(knowledge).encode("utf-8")
        self._remove_stale_temporaries()
        try:
            write_atomic(self.path, data)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write: {exc.strerror or exc}; nothing was changed") from exc
        self._raw, self._cached = data, knowledge

    def _remove_stale_temporaries(self) -> None:
        # only called under the file lock: any temporary file left is from a writer that died
        for tmp in self.dir.glob(f"{TMP_PREFIX}*{TMP_SUFFIX}"):
            tmp.unlink(missing_ok=True)

    def _append_audit(self, record: AuditRecord) -> None:
        line = json.dumps({**vars(record), "message_ids": list(record.message_ids)}, ensure_ascii=False) + "\n"
        try:
            fd = os.open(self.audit_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            log.error("%s: cannot open the audit log: %s", self.audit_path, exc)
            return
        try:
            size = os.fstat(fd).st_size
            # a writer killed mid-line left no newline: start on a fresh line so both stay parseable
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        except OSError as exc:
            # the change itself is already safe in learned.yaml; a lost audit line is logged, not fatal
            log.error("%s: cannot append: %s", self.audit_path, exc)
        finally:
            os.close(fd)


# -- review: learned knowledge as a pack ------------------------------------------

EXPORT_MARKER = ".faqbot-export"
EXTRA_DIR = "extra"  # check_pack reads only the top folder, so review notes here never break loading


@dataclass(frozen=True)
class ExportReport:
    folder: str
    entries: int
    pack_aliases: int  # aliases learned for pack entries (extra/aliases.yaml, to merge by hand)
    rejections: int


def _entry_data(e: LearnedEntry, aliases: tuple[LearnedAlias, ...]) -> dict:
    return {
        "id": e.id, "n": e.n, "question": e.question, "section": LEARNED_SECTION, "url": e.source.permalink,
        "answer": e.answer, "aliases": [a.text for a in aliases],
    }


def _provenance(e: LearnedEntry) -> str:
    s = e.source
    ids = ", ".join(s.message_ids) or "-"
    return f"# learned {e.created_at} by {e.created_by} on {s.platform or '-'} in {s.channel or '-'} (messages {ids})\n"


def export_pack(k: Knowledge, folder: Path, name: str = "learned") -> ExportReport:
    """Write learned entries as a pack (bot.pack.check_pack accepts it) for review and merging in git.

    Aliases learned for pack entries and rejections cannot live in a pack of
    their own; they go to extra/ as YAML to merge by hand. An earlier export
    in the same folder is replaced; any other non-empty folder is refused.
    """
    from ..importer import dump_entry
    from ..pack import META_FILE, entry_files

    if folder.exists() and any(folder.iterdir()) and not (folder / EXPORT_MARKER).exists():
        raise StoreError(f"{folder}: not empty and not an earlier export; choose an empty or new folder")
    (folder / EXTRA_DIR).mkdir(parents=True, exist_ok=True)
    for old in entry_files(folder):
        old.unlink()
    meta = {"name": name, "title": "Learned in chat", "description": "Entries maintainers taught the bot; review before merging."}
    (folder / META_FILE).write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for e in k.entries:
        (folder / f"{e.n:04d}.yaml").write_text(_provenance(e) + dump_entry(_entry_data(e, k.aliases_of(e.id))), encoding="utf-8")
    learned_ids = {e.id for e in k.entries}
    pack_aliases: dict[str, list[str]] = {}
    for a in k.aliases:
        if a.entry_id not in learned_ids:
            pack_aliases.setdefault(a.entry_id, []).append(a.text)
    notes = {
        "aliases.yaml": ("# Phrasings learned for pack entries: add them to `aliases:` of these entries.\n", pack_aliases),
        "rejections.yaml": (
            "# Questions maintainers marked as wrongly answered by an entry (normalised text).\n",
            [{"query": r.query, "entry_id": r.entry_id, "who": r.who, "when": r.when} for r in k.rejections],
        ),
    }
    for file, (header, data) in notes.items():
        (folder / EXTRA_DIR / file).write_text(header + to_yaml(data), encoding="utf-8")
    (folder / EXPORT_MARKER).write_text("written by `faqbot knowledge export`\n", encoding="utf-8")
    return ExportReport(str(folder), len(k.entries), sum(map(len, pack_aliases.values())), len(k.rejections))
