"""Loading and validating knowledge packs: a folder of YAML files.

A pack folder holds an optional `pack.yaml` (metadata) and any number of entry
files. An entry file holds one entry (a mapping), a list of entries, or a
mapping with an `entries:` list. Every problem is reported with file, line and
entry id; a pack with any problem is refused as a whole, so the bot never starts
half-empty.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..matching.types import Entry, Pack, PackError, PackInfo, PackProblem

META_FILE = "pack.yaml"
NEGATIVES_FILE = "negatives.yaml"
CALIBRATION_FILE = "calibration.yaml"
NOT_ENTRIES = (META_FILE, NEGATIVES_FILE, CALIBRATION_FILE)
REQUIRED = ("id", "n", "question", "answer")
LIST_FIELDS = ("links", "aliases", "keywords")
TEXT_FIELDS = (
    "question", "answer", "answer_en", "section", "subsection", "url", "body", "question_en", "section_en", "subsection_en",
)
DATE_FIELDS = ("reviewed",)
# what `knowledge import` wrote, as {field: digest}: a re-import refreshes a field
# only while its value still has that digest (nobody edited it); see bot/knowledge/importer.py
GENERATED_FIELD = "generated"
KNOWN = set(REQUIRED) | set(LIST_FIELDS) | set(TEXT_FIELDS) | set(DATE_FIELDS) | {GENERATED_FIELD}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader (C when PyYAML has it: several times faster, same nodes and
    marks), except that dates stay text: `reviewed: 2026-13-01` must become a
    validation error with file and line, not a ValueError from the constructor."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def entry_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.name not in NOT_ENTRIES)


def _compose(path: Path, problems: list[PackProblem]) -> tuple[Any, Any]:
    """Parse a YAML file into (node, data); node keeps line numbers for messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(PackProblem(str(path), 0, "", f"cannot read: {exc}"))
        return None, None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        problems.append(PackProblem(str(path), line, "", f"bad YAML: {getattr(exc, 'problem', None) or exc}"))
        return None, None
    finally:
        loader.dispose()
    return node, data


def _entry_nodes(node: Any, data: Any) -> Iterable[tuple[Any, Any]]:
    """Yield (mapping node, mapping data) for every entry in a parsed file."""
    if isinstance(data, dict) and "entries" in data:
        sub = next(v for k, v in node.value if k.value == "entries")
        yield from zip(sub.value, data["entries"]) if isinstance(data["entries"], list) else [(sub, data["entries"])]
    elif isinstance(data, list):
        yield from zip(node.value, data)
    else:
        yield node, data


def _line_of(node: Any, key: str | None = None) -> int:
    if key is not None and isinstance(getattr(node, "value", None), list):
        for k, v in node.value:
            if getattr(k, "value", None) == key:
                return k.start_mark.line + 1
    return node.start_mark.line + 1 if node is not None else 0


def _as_list(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return None


def _iso_date(value: Any) -> str | None:
    """A YYYY-MM-DD date as text, or None when it is not one."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    return None


def parse_entry(node: Any, data: Any, file: str, problems: list[PackProblem]) -> Entry | None:
    """Check one entry mapping; on any problem record it and return None."""
    if not isinstance(data, dict):
        problems.append(PackProblem(file, _line_of(node), "", "an entry must be a mapping of fields"))
        return None
    eid = str(data.get("id") or "")
    before = len(problems)

    def bad(key: str | None, msg: str) -> None:
        problems.append(PackProblem(file, _line_of(node, key), eid, msg))

    for key in REQUIRED:
        if key not in data or data[key] is None or (isinstance(data[key], str) and not data[key].strip()):
            bad(key if key in data else None, f"missing or empty field '{key}'")
    if eid and not ID_RE.match(eid):
        bad("id", f"id '{eid}' is not a slug (lowercase letters, digits, '.', '_' or '-')")
    n = data.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        bad("n", f"'n' must be a non-negative whole number, not {n!r}")
    for key in TEXT_FIELDS:
        if data.get(key) is not None and not isinstance(data[key], (str, int, float)):
            bad(key, f"'{key}' must be text")
    dates = {}
    for key in DATE_FIELDS:
        dates[key] = "" if data.get(key) in (None, "") else _iso_date(data[key])
        if dates[key] is None:
            bad(key, f"'{key}' must be a date written YYYY-MM-DD, not {data[key]!r}")
    lists = {}
    for key in LIST_FIELDS:
        lists[key] = _as_list(data.get(key))
        if lists[key] is None:
            bad(key, f"'{key}' must be a list of strings")
    generated = data.get(GENERATED_FIELD)
    if generated is not None and not (
        isinstance(generated, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in generated.items())
    ):
        bad(GENERATED_FIELD, f"'{GENERATED_FIELD}' must map field names to digests (written by `knowledge import`)")
    for key in sorted(set(data) - KNOWN):
        bad(key, f"unknown field '{key}'")
    if len(problems) > before:
        return None
    return Entry(
        id=eid,
        n=int(n),
        question=str(data["question"]).strip(),
        answer=str(data["answer"]).strip(),
        section=str(data.get("section") or "").strip(),
        subsection=str(data.get("subsection") or "").strip(),
        url=str(data.get("url") or "").strip(),
        answer_en=str(data.get("answer_en") or "").strip(),
        links=lists["links"] or (),
        aliases=lists["aliases"] or (),
        keywords=lists["keywords"] or (),
        body=str(data.get("body") or "").strip(),
        source=file,
        question_en=str(data.get("question_en") or "").strip(),
        section_en=str(data.get("section_en") or "").strip(),
        subsection_en=str(data.get("subsection_en") or "").strip(),
        reviewed=dates["reviewed"] or "",
    )


def _load_info(folder: Path, problems: list[PackProblem]) -> PackInfo:
    meta = folder / META_FILE
    if not meta.exists():
        return PackInfo(name=folder.name)
    _, data = _compose(meta, problems)
    if data is None:
        return PackInfo(name=folder.name)
    if not isinstance(data, dict):
        problems.append(PackProblem(str(meta), 1, "", "pack.yaml must be a mapping"))
        return PackInfo(name=folder.name)
    fields = {k: str(data[k]) for k in ("title", "author", "source_url", "license", "description") if data.get(k)}
    return PackInfo(name=str(data.get("name") or folder.name), **fields)


def _load_negatives(folder: Path, problems: list[PackProblem]) -> tuple[tuple[str, ...], ...]:
    """negatives.yaml: a list of {topic, phrasings: [...]} (or of plain phrasings, each its own topic)."""
    path = folder / NEGATIVES_FILE
    if not path.exists():
        return ()
    node, data = _compose(path, problems)
    if data is None:
        return ()
    out: list[tuple[str, ...]] = []
    items = data if isinstance(data, list) else None
    if items is None:
        problems.append(PackProblem(str(path), 1, "", "negatives.yaml must be a list"))
        return ()
    for item, inode in zip(items, node.value):
        phrasings = item.get("phrasings") if isinstance(item, dict) else [item]
        if not isinstance(phrasings, list) or not all(isinstance(p, str) for p in phrasings):
            topic = str(item.get("topic", "")) if isinstance(item, dict) else ""
            problems.append(PackProblem(str(path), _line_of(inode), topic, "'phrasings' must be a list of strings"))
            continue
        topic = tuple(p.strip() for p in phrasings if p.strip())
        if topic:
            out.append(topic)
    return tuple(out)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_calibration(folder: Path, problems: list[PackProblem]) -> None:
    """calibration.yaml, when present, must be what `knowledge calibrate` writes: a mapping
    with `coef` (a list of numbers) and `intercept` (a number). Checked with the pack, so a
    broken one fails `knowledge validate`, a hot reload keeps the last good knowledge, and
    the start stops with one line, instead of a traceback at the next start. (Whether it
    was fitted for the current features is the calibration module's business: it refits.)"""
    path = folder / CALIBRATION_FILE
    if not path.exists():
        return
    node, data = _compose(path, problems)
    if node is None:
        return  # unreadable or bad YAML: already a problem; an empty file is no calibration
    if not isinstance(data, dict):
        problems.append(PackProblem(str(path), _line_of(node), "", "calibration.yaml must be a mapping (coef, intercept, …)"))
        return
    coef = data.get("coef")
    if not isinstance(coef, list) or not coef or not all(_is_number(c) for c in coef):
        problems.append(PackProblem(str(path), _line_of(node, "coef"), "", "'coef' must be a list of numbers"))
    if "intercept" in data and not _is_number(data["intercept"]):
        problems.append(PackProblem(str(path), _line_of(node, "intercept"), "", "'intercept' must be a number"))
    features = data.get("features")
    if features is not None and not (isinstance(features, list) and all(isinstance(f, str) for f in features)):
        problems.append(PackProblem(str(path), _line_of(node, "features"), "", "'features' must be a list of names"))
    elif isinstance(features, list) and isinstance(coef, list) and len(features) != len(coef):
        problems.append(PackProblem(str(path), _line_of(node, "coef"), "", f"'coef' has {len(coef)} numbers for {len(features)} features"))


def check_pack(folder: str | Path) -> tuple[Pack | None, list[PackProblem]]:
    """Load a pack and list every problem; the pack is None when there is any."""
    folder = Path(folder)
    problems: list[PackProblem] = []
    if not folder.is_dir():
        return None, [PackProblem(str(folder), 0, "", "not a folder" if folder.exists() else "knowledge pack folder not found")]
    info = _load_info(folder, problems)
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    files = entry_files(folder)
    if not files:
        problems.append(PackProblem(str(folder), 0, "", "no entry files (*.yaml) in the pack"))
    for path in files:
        node, data = _compose(path, problems)
        if node is None:
            if data is None and not any(p.file == str(path) for p in problems):
                problems.append(PackProblem(str(path), 0, "", "empty file"))
            continue
        for enode, edata in _entry_nodes(node, data):
            entry = parse_entry(enode, edata, str(path), problems)
            if entry is None:
                continue
            if entry.id in seen:
                problems.append(
                    PackProblem(str(path), _line_of(enode, "id"), entry.id, f"duplicate id (also in {seen[entry.id]})")
                )
                continue
            seen[entry.id] = f"{path}:{_line_of(enode, 'id')}"
            entries.append(entry)
    negatives = _load_negatives(folder, problems)
    _check_calibration(folder, problems)
    if not entries and not problems:
        problems.append(PackProblem(str(folder), 0, "", "the pack has no entries"))
    if problems:
        return None, problems
    entries.sort(key=lambda e: (e.n, e.id))
    entries = [replace(e, pack=folder.name) for e in entries]  # identity across packs: pack + id
    return Pack(info=info, entries=tuple(entries), path=str(folder), negatives=negatives), []


def load_pack(folder: str | Path) -> Pack:
    """Load a pack or raise PackError listing every problem."""
    pack, problems = check_pack(folder)
    if pack is None:
        raise PackError(problems)
    return pack
