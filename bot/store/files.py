"""The learned-knowledge values, and the file format the store used before the database.

`Knowledge` and its records are the values the store hands to `bot.learning.learning`;
`parse_knowledge` and `read_audit_file` read the pre-database data directory,
which `bot.store.legacy` imports into the database once. It held:

    learned.yaml   learned entries, aliases, rejections and recent gesture keys
    audit.log      append-only JSON lines: who did what, where, and the result

`dump_knowledge` writes that format (tests build an old data directory with it);
`to_yaml` also writes the review notes of `export_pack` (export.py). A learned.yaml that does
not parse stops the start with the file and the place named, and is never changed.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from ..chat.commands import parse_number

log = logging.getLogger("faqbot.store")

LEARNED_FILE = "learned.yaml"
AUDIT_FILE = "audit.log"
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


# -- the old data directory, read once by the import (bot.store.legacy) ------------


def check_readable(k: Knowledge) -> None:
    """Never store what the bot could not read back: the fields the reader requires are set."""
    required = [(f"entry {e.id!r}", (e.id, e.question, e.answer)) for e in k.entries]
    required += [(f"alias of {a.entry_id!r}", (a.entry_id, a.text)) for a in k.aliases]
    required += [(f"rejection of {r.entry_id!r}", (r.query, r.entry_id)) for r in k.rejections]
    required += [("an event mark", (m.key,)) for m in k.events]
    for what, values in required:
        if not all(values):
            raise StoreError(f"refusing to write {what}: a required field is empty")


def read_audit_file(path: Path) -> list[dict]:
    """Every line of an old audit.log; a line torn by a crash mid-append is skipped, not fatal."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("%s: skipping an unreadable line: %.80s", path, line)
    return out
