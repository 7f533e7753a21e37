"""Turn markdown FAQs (one page or several) into a knowledge pack folder.

Reading the markdown is bot/knowledge/markdown_faq.py's job; this module writes the pack
and merges a re-import with what is already there:

- `n` and `url` always follow the source (position and address);
- `id` is assigned once and then kept (learned aliases and feedback refer to it);
- fields the importer writes (question, section, subsection, answer, links,
  body) are recorded in the entry's `generated:` mapping as digests. A re-import
  refreshes a field while its value still has the recorded digest, and keeps it
  when a person edited it;
- every other field (answer_en, aliases, keywords, question_en, reviewed, ...)
  is a person's and is always kept.

An entry written before digests were recorded is treated as the importer used to:
source fields (question, section, subsection, body) refresh, a non-empty links
list is kept, and so is the answer unless it is exactly what the old importer
generated from the entry's body (then it is refreshed).
"""
from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union
from urllib.parse import urljoin

import yaml

from ..chat.commands import parse_number
from .markdown_faq import ImportedEntry, ParsedDocument, parse_document, parse_markdown, slugify  # noqa: F401
from .pack import GENERATED_FIELD, META_FILE, entry_files

GENERATED = ("question", "section", "subsection", "answer", "links", "body")
LEGACY_SOURCE = ("question", "section", "subsection", "body")  # refreshed in entries without a record
FIELD_ORDER = (
    "id", "n", "question", "question_en", "section", "section_en", "subsection", "subsection_en", "url",
    "answer", "answer_en", "links", "aliases", "keywords", "reviewed", "body",
)
GENERIC_STEMS = ("readme", "index", "faq", "docs")


@dataclass(frozen=True)
class IndexRow:
    anchor: str
    question: str  # "" when the index has no question column


def read_index(path: Path) -> dict[object, IndexRow]:
    """Anchors (and verbatim titles) from a TSV with `anchor` and `n` or `question` columns.

    Keys are both the entry number (int) and the normalised question, so a title
    that the published page typeset differently still finds its row by number.
    """
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows or "anchor" not in rows[0] or not ({"n", "question"} & set(rows[0])):
        raise ValueError(f"{path}: needs a header with an 'anchor' column and an 'n' or 'question' column")
    index: dict[object, IndexRow] = {}
    for row in rows:
        item = IndexRow(anchor=(row.get("anchor") or "").strip(), question=(row.get("question") or "").strip())
        number = parse_number(row.get("n") or "")
        if number is not None:
            index[number] = item
        if item.question:
            index[_question_key(item.question)] = item
    return index


def _question_key(question: str) -> str:
    text = re.sub(r"[`*_\\]", "", unicodedata.normalize("NFKC", question))
    return re.sub(r"\s+", "", text).lower()


def default_id(question: str, n: int) -> str:
    words = re.findall(r"[a-z0-9]+", unicodedata.normalize("NFKC", question).lower())
    if sum(1 for ch in question if ord(ch) < 128 and ch.isalpha()) >= len(question) * 0.6 and len(words) >= 2:
        return "-".join(words[:6])[:60].strip("-")
    return f"q{n:03d}"


def digest(value: object) -> str:
    """A short fingerprint of a field's value as the pack loader will read it."""
    if isinstance(value, (list, tuple)):
        text = "\n".join(str(v).strip() for v in value)
    else:
        text = "" if value is None else str(value).strip()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class _BlockDumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_representer)


def dump_entry(data: dict) -> str:
    """One entry as YAML: known fields in a fixed order, then any others, the
    importer's record last. Empty optional fields are left out."""
    def present(key: str) -> bool:
        return data.get(key) not in (None, "", [], (), {})

    keys = [k for k in FIELD_ORDER if present(k) or k in ("id", "n", "question", "answer")]
    keys += [k for k in data if k not in FIELD_ORDER and k != GENERATED_FIELD and present(k)]
    if present(GENERATED_FIELD):
        keys.append(GENERATED_FIELD)
    ordered = {k: data.get(k, "") for k in keys}
    return yaml.dump(ordered, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, width=1000)


def _existing(folder: Path) -> list[tuple[Path, dict]]:
    out = []
    if not folder.is_dir():
        return out
    for path in entry_files(folder):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the existing entry ({exc}); fix it before re-importing") from exc
        if isinstance(data, dict) and "question" in data:
            out.append((path, data))
    return out


@dataclass(frozen=True)
class ImportReport:
    written: int
    kept_hand_written: int  # entries where at least one person-edited field was kept
    new: int
    orphans: tuple[str, ...]  # existing entry files whose question is no longer in the source
    warnings: tuple[str, ...] = ()  # suspicious shapes in the documents (see markdown_faq)
    notes: tuple[str, ...] = ()  # what the import chose where the command line was silent
    table_rows: int = 0
    edited_fields: int = 0  # fields kept because a person changed them


def page_urls(sources: Sequence[Path], base_url: str) -> list[str]:
    """The published page of each source: `base_url` itself, or for several files
    and a base ending in '/', the base joined with each file's name."""
    if not base_url:
        return ["" for _ in sources]
    if len(sources) > 1 and base_url.endswith("/"):
        return [urljoin(base_url, s.name) for s in sources]
    return [base_url for _ in sources]


def parse_files(sources: Sequence[Path], base_url: str = "") -> list[ParsedDocument]:
    """Every source parsed in order, entries numbered on from one file to the next."""
    docs: list[ParsedDocument] = []
    start = 1
    for source, page in zip(sources, page_urls(sources, base_url)):
        doc = parse_document(source.read_text(encoding="utf-8"), page, name=str(source), start=start)
        docs.append(doc)
        start += len(doc.entries)
    return docs


def _merge(fresh: dict, old: dict) -> tuple[dict, list[str]]:
    """The entry to write: `fresh` (what the source gives now) over `old`,
    keeping what a person edited. Returns it and the fields kept as edited."""
    record = old.get(GENERATED_FIELD) if isinstance(old.get(GENERATED_FIELD), dict) else None
    out = {k: v for k, v in old.items() if k != GENERATED_FIELD}
    out["n"], out["url"] = fresh["n"], fresh["url"]
    out["id"] = old.get("id") or fresh["id"]
    edited = []
    for key in GENERATED:
        current = old.get(key)
        if current in (None, "", []):
            out[key] = fresh[key]
        elif record is not None:
            if record.get(key) == digest(current):
                out[key] = fresh[key]
            elif digest(current) != digest(fresh[key]):
                edited.append(key)
        elif key in LEGACY_SOURCE or (key == "answer" and current == legacy_auto_answer(str(old.get("body") or ""))):
            out[key] = fresh[key]
        elif digest(current) != digest(fresh[key]):
            edited.append(key)
    out[GENERATED_FIELD] = {key: digest(fresh[key]) for key in GENERATED}
    return out, edited


_LEGACY_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def legacy_auto_answer(body: str) -> str:
    """The short answer the line-regex importer wrote before digests were recorded,
    so that a re-import can tell its output from a person's answer in such packs."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", re.sub(r"```.*?```", "", body, flags=re.S)) if p.strip()]
    out = ""
    for para in paragraphs:
        para = _LEGACY_LINK.sub(r"\1", re.sub(r"^[>*#\s-]+", "", para)).replace("`", "")
        para = re.sub(r"\s+", " ", re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", para)).strip()
        if para:
            out = f"{out} {para}".strip()
            if len(out) >= 150:
                break
    return out[:300].rstrip() + ("…" if len(out) > 300 else "")


def import_markdown(
    source: Union[Path, Sequence[Path]],
    into: Path,
    base_url: str = "",
    index: Optional[Path] = None,
    pack_name: str = "",
) -> ImportReport:
    sources = [source] if isinstance(source, Path) else list(source)
    docs = parse_files(sources, base_url)
    imported: list[ImportedEntry] = [e for d in docs for e in d.entries]
    if not imported:
        raise ValueError(f"{', '.join(map(str, sources))}: no questions found (headings with text, or a table of questions); nothing to import")
    pages = dict(zip(map(str, sources), page_urls(sources, base_url)))
    rows = read_index(index) if index else {}
    into.mkdir(parents=True, exist_ok=True)
    existing = _existing(into)
    by_url: dict[str, list[tuple[Path, dict]]] = {}
    by_question: dict[str, list[tuple[Path, dict]]] = {}
    by_record: dict[str, list[tuple[Path, dict]]] = {}
    for path, data in existing:  # several entries may share a key (the same question twice)
        if data.get("url"):
            by_url.setdefault(str(data["url"]), []).append((path, data))
        by_question.setdefault(_question_key(str(data.get("question", ""))), []).append((path, data))
        if isinstance(data.get(GENERATED_FIELD), dict):
            by_record.setdefault(str(data[GENERATED_FIELD].get("question")), []).append((path, data))
    # first pass: which existing file each imported entry refreshes
    plans: list[tuple[ImportedEntry, str, str, Optional[tuple[Path, dict]]]] = []
    used: set[Path] = set()
    for item in imported:
        row = rows.get(_question_key(item.question)) or rows.get(item.n)
        anchor = row.anchor if row and row.anchor else item.anchor
        question = row.question if row and row.question else item.question
        page = pages.get(item.source, "")
        url = f"{page}#{anchor}" if page and anchor else page
        candidates = (by_url.get(url, []) if url else []) + by_question.get(_question_key(question), [])
        candidates += by_record.get(digest(question), [])
        match = next((c for c in candidates if c[0] not in used), None)
        if match:
            used.add(match[0])
        plans.append((item, question, url, match))
    # ids already in the folder (kept entries and orphans alike) are never given again
    ids = {str(d.get("id")) for _, d in existing if d.get("id")}
    taken_names = {p.name for p, _ in existing}
    kept = new = edited_total = 0
    for item, question, url, match in plans:
        if match:
            path, old = match
        else:
            name = f"{item.n:03d}.yaml"
            while name in taken_names:
                name = f"{Path(name).stem}-new.yaml"
            path, old = into / name, {}
            taken_names.add(name)
        fresh = {
            "id": default_id(question, item.n),
            "n": item.n,
            "question": question,
            "section": item.section,
            "subsection": item.subsection,
            "url": url,
            "answer": item.answer,
            "links": list(item.links),
            "body": item.body,
        }
        data, edited = _merge(fresh, old)
        hand = edited or any(old.get(k) not in (None, "", []) for k in ("answer_en", "aliases", "keywords"))
        kept += bool(hand)
        edited_total += len(edited)
        new += not match
        if not match:
            while data["id"] in ids:
                data["id"] = f"{fresh['id']}-{item.n}" if data["id"] == fresh["id"] else f"{data['id']}-new"
        ids.add(data["id"])
        path.write_text(dump_entry(data), encoding="utf-8")
    meta = next((d.meta for d in docs if d.meta), {})
    meta_path = into / META_FILE
    if not meta_path.exists():
        title = next((d.title for d in docs if d.title), "") or default_pack_folder(sources[0]).name
        info = {
            "name": pack_name or into.name,
            "title": title,
            "source_url": base_url,
            "author": str(meta.get("author") or ""),
        }
        meta_path.write_text(
            yaml.dump({k: v for k, v in info.items() if v}, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    notes = []
    if not base_url:
        notes.append("no --base-url: entries carry no link to their source section; pass the page URL to add one")
    table_rows = sum(d.table_rows for d in docs)
    if table_rows:
        notes.append(f"{table_rows} entries came from table rows (first column the question, the others its answer)")
    orphans = tuple(str(p) for p, _ in existing if p not in used)
    return ImportReport(
        written=len(imported), kept_hand_written=kept, new=new, orphans=orphans,
        warnings=tuple(w for d in docs for w in d.warnings), notes=tuple(notes),
        table_rows=table_rows, edited_fields=edited_total,
    )


def default_pack_folder(first: Path) -> Path:
    """knowledge/<file stem>, or the file's folder name when the stem says nothing (README.md)."""
    stem = first.stem
    if stem.lower() in GENERIC_STEMS and first.resolve().parent.name:
        stem = first.resolve().parent.name
    return Path("knowledge") / slugify(stem)
