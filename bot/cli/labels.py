"""The labels of an evaluation file: which entries each question means.

Rows are `query, expected, lang, note`; `expected` is `-` when the bot should
not answer, else the acceptable entries in one of three spellings (one per
file, see ../shared/eval/README.md): entry numbers (`7,97`), entry ids
(`slow-pull`, `docker-faq/slow-pull`), or question titles joined by ` || `.
Labels are resolved once against the loaded entries to pack + id, so a hit is
never judged by a bare number that two packs share. Apart from the scoring
(evaluate.py): the benchmarks read and resolve labelled files without scoring them.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..chat.commands import parse_number
from ..matching.types import Entry, Pack

NUMBERS, IDS, TITLES = "numbers", "ids", "titles"
SPELLINGS = (NUMBERS, IDS, TITLES)
TITLE_SEPARATOR = " || "
LEARNED_PACK = "learned"
_NUMBERS_RE = re.compile(r"^\s*\d+\s*(,\s*\d+\s*)*$")
# ids are slugs (bot/knowledge/pack.py ID_RE), optionally qualified by the pack's folder name
_IDS_RE = re.compile(r"^\s*[\w.-]+(/[a-z0-9][a-z0-9._-]*)?\s*(,\s*[\w.-]+(/[a-z0-9][a-z0-9._-]*)?\s*)*$", re.ASCII)

_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")  # a backslash before ASCII punctuation

EntryKey = tuple[str, str]  # (pack folder name, entry id): unique across loaded packs


@dataclass(frozen=True)
class Row:
    query: str
    labels: tuple[str, ...]  # as written, split by the file's spelling; empty: out of scope
    lang: str
    note: str = ""
    line: int = 0  # line in the file, for messages
    spelling: str = NUMBERS  # of the whole file: how `labels` name entries

    @property
    def in_scope(self) -> bool:
        return bool(self.labels)


def spelling_of(raw_labels: Iterable[str]) -> str:
    """Which of the three spellings a file uses, from all its non-`-` labels.

    Numbers when every label is a list of whole numbers; titles when any label
    holds ` || `, a space or anything an id cannot hold; otherwise ids.
    """
    raw = [r for r in raw_labels if r not in ("", "-")]
    if raw and all(_NUMBERS_RE.match(r) for r in raw):
        return NUMBERS
    if any(TITLE_SEPARATOR.strip() in r or not _IDS_RE.match(r) for r in raw):
        return TITLES
    return IDS


def split_labels(raw: str, spelling: str) -> tuple[str, ...]:
    if raw in ("", "-"):
        return ()
    parts = raw.split(TITLE_SEPARATOR.strip()) if spelling == TITLES else raw.split(",")
    return tuple(p.strip() for p in parts if p.strip())


def read_rows(path: str | Path, spelling: str = "auto") -> list[Row]:
    """Read a labelled TSV; `spelling` is auto (detected from the whole file) or one of SPELLINGS."""
    raw_rows: list[tuple[int, dict]] = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"query", "expected"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for number, rec in enumerate(reader, 2):
            raw_rows.append((number, rec))
    expected = [(rec.get("expected") or "").strip() for _, rec in raw_rows]
    if spelling == "auto":
        spelling = spelling_of(expected)
    elif spelling not in SPELLINGS:
        raise ValueError(f"label spelling must be auto or one of {', '.join(SPELLINGS)}, not {spelling!r}")
    rows = []
    for (number, rec), raw in zip(raw_rows, expected):
        if spelling == NUMBERS and raw not in ("", "-") and not _NUMBERS_RE.match(raw):
            raise ValueError(f"{path}:{number}: expected must be entry numbers or '-' like the rest of the file, not {raw!r}")
        rows.append(
            Row((rec.get("query") or "").strip(), split_labels(raw, spelling), (rec.get("lang") or "").strip(),
                rec.get("note") or "", number, spelling)
        )
    return rows


@lru_cache(maxsize=None)
def _inline_md():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def _plain_inline(text: str) -> str:
    """The text of one line of markdown with its inline marks (code spans, emphasis, links, escapes) removed."""
    out: list[str] = []

    def walk(tokens) -> None:
        for tok in tokens:
            if tok.children:
                walk(tok.children)
            elif tok.type in ("text", "code_inline", "html_inline"):
                out.append(tok.content)
            elif tok.type in ("softbreak", "hardbreak"):
                out.append(" ")

    walk(_inline_md().parseInline(text))
    return "".join(out)


def title_key(title: str) -> str:
    """How a title label is compared with an entry's question: markdown inline marks,
    width and case variants and whitespace set aside (they change across re-imports)."""
    text = unicodedata.normalize("NFKC", _plain_inline(title)).casefold()
    # escapes the parser kept (inside code spans, or already-unescaped text escaped twice) go too
    text = _ESCAPE_RE.sub(r"\1", text).replace("`", "")
    return " ".join(text.split())


def pack_of(entry: Entry, aliases: Mapping[str, str] = {}) -> str:
    """The folder name of the pack an entry comes from ("learned" for taught entries)."""
    name = str(getattr(entry, "pack", "") or "")
    if not name:
        if entry.learned or not entry.source or entry.source == LEARNED_PACK:
            return LEARNED_PACK
        name = Path(entry.source).parent.name
    return aliases.get(name, name)


def pack_names(packs: Sequence[Pack]) -> dict[str, str]:
    """Every name a pack goes by (folder name, pack.yaml name) -> its folder name."""
    names: dict[str, str] = {}
    for pack in packs:
        folder = Path(pack.path).name if pack.path else pack.info.name
        names.setdefault(folder, folder)
        names.setdefault(pack.info.name, folder)
    return names


def entry_key(entry: Entry, aliases: Mapping[str, str] = {}) -> EntryKey:
    return pack_of(entry, aliases), entry.id


@dataclass(frozen=True)
class Resolved:
    """Each row's acceptable entries as pack + id keys, and the labels that named no loaded entry."""

    expected: tuple[frozenset[EntryKey], ...]
    missing: tuple[tuple[int, str], ...]  # (line, label) of labels that named no loaded entry
    spelling: str
    label_pack: str

    @property
    def unresolved(self) -> tuple[str, ...]:
        return tuple(f"line {line}: {label}" for line, label in self.missing)


def resolve(rows: Sequence[Row], entries: Sequence[Entry], packs: Sequence[Pack] = (), label_pack: str = "") -> Resolved:
    """Turn every row's labels into entry keys.

    Numbers and unqualified ids refer to `label_pack` (default: the first loaded
    pack) and fall back to a unique match elsewhere (e.g. a learned entry);
    `pack/id` names one pack; titles match any loaded pack.
    """
    aliases = pack_names(packs)
    default = aliases.get(label_pack, label_pack) if label_pack else (next(iter(aliases.values()), "") if aliases else "")
    keyed = [(entry_key(e, aliases), e) for e in entries]
    by_n: dict[str, list[EntryKey]] = {}
    by_id: dict[str, list[EntryKey]] = {}
    by_title: dict[str, set[EntryKey]] = {}
    for key, e in keyed:
        by_n.setdefault(str(e.n), []).append(key)
        by_id.setdefault(e.id, []).append(key)
        for title in (e.question, getattr(e, "question_en", "") or ""):
            if title:
                by_title.setdefault(title_key(title), set()).add(key)

    def pick(found: list[EntryKey]) -> set[EntryKey]:
        preferred = [k for k in found if k[0] == default]
        return set(preferred or (found if len(found) == 1 else []))

    expected: list[frozenset[EntryKey]] = []
    missing: list[tuple[int, str]] = []
    for row in rows:
        keys: set[EntryKey] = set()
        for label in row.labels:
            if row.spelling == NUMBERS:
                found = pick(by_n.get(str(int(label)), []))
            elif row.spelling == IDS and "/" in label:
                pack, _, eid = label.partition("/")
                found = {k for k in by_id.get(eid, []) if k[0] == aliases.get(pack, pack)}
            elif row.spelling == IDS:
                found = pick(by_id.get(label, []))
                number = parse_number(label)  # a number among ids: no id is all digits in practice
                if not found and number is not None:
                    found = pick(by_n.get(str(number), []))
            else:
                found = by_title.get(title_key(label), set())
            if not found:
                missing.append((row.line, label))
            keys |= found
        expected.append(frozenset(keys))
    spelling = next((r.spelling for r in rows if r.labels), IDS)
    return Resolved(tuple(expected), tuple(missing), spelling, default)
