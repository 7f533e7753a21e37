"""Turn a heading-structured markdown FAQ into a knowledge pack.

An entry is a heading with text of its own; headings above it are its section
and subsection, headings below it belong to its body. Re-importing refreshes
what comes from the source (question, section, url, body, n) and keeps what
people wrote by hand (id, answer, answer_en, links, aliases, keywords).
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml

from .pack import META_FILE, entry_files

HAND_WRITTEN = ("id", "answer", "answer_en", "links", "aliases", "keywords")
FIELD_ORDER = (
    "id", "n", "question", "section", "subsection", "url", "answer", "answer_en",
    "links", "aliases", "keywords", "body",
)
SKIP_HEADINGS = re.compile(r"^(前言|序言?|目录|简介|preface|introduction|table of contents|contents|toc|about)$", re.I)
HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
COUNT_BADGE_RE = re.compile(r"\s*[(（]\s*\d+\s*[)）]\s*$")
MD_LINK_RE = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
AUTOLINK_RE = re.compile(r"<(https?://[^>\s]+)>")
BARE_URL_RE = re.compile(r"(?<![(<\"'])\bhttps?://[^\s)>\]，。；]+")
MAX_AUTO_LINKS = 5
AUTO_ANSWER_CHARS = 300


@dataclass
class _Heading:
    level: int
    title: str
    line: int
    text: list[str] = field(default_factory=list)  # lines directly under it
    children: list["_Heading"] = field(default_factory=list)
    parent: Optional["_Heading"] = None

    def has_own_text(self) -> bool:
        return any(t.strip() and not t.strip().startswith("<!--") for t in self.text)


@dataclass(frozen=True)
class ImportedEntry:
    n: int
    question: str
    section: str
    subsection: str
    anchor: str
    body: str
    links: tuple[str, ...]


def strip_inline(md: str) -> str:
    """Heading markdown to plain text: code ticks, emphasis, links, count badges."""
    text = MD_LINK_RE.sub(r"\1", md)
    text = text.replace("`", "")
    text = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    return re.sub(r"\s+", " ", text).strip()


def section_title(md: str) -> str:
    return COUNT_BADGE_RE.sub("", strip_inline(md)).strip()


def slugify(text: str) -> str:
    """GitHub-style heading anchor: lowercase, punctuation dropped, spaces to '-'."""
    text = unicodedata.normalize("NFKC", strip_inline(text)).lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return re.sub(r"\s+", "-", text.strip())


def _split_front_matter(lines: list[str]) -> tuple[dict, list[str]]:
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                try:
                    meta = yaml.safe_load("\n".join(lines[1:i])) or {}
                except yaml.YAMLError:
                    meta = {}
                return (meta if isinstance(meta, dict) else {}), lines[i + 1:]
    return {}, lines


def _heading_tree(lines: list[str]) -> list[_Heading]:
    root = _Heading(0, "", 0)
    current = root
    in_fence = False
    for number, line in enumerate(lines, 1):
        if FENCE_RE.match(line):
            in_fence = not in_fence
        match = None if in_fence else HEADING_RE.match(line)
        if not match:
            current.text.append(line)
            continue
        level = len(match.group(1))
        parent = current
        while parent.level >= level:
            parent = parent.parent  # type: ignore[assignment]
        node = _Heading(level, match.group(2), number, parent=parent)
        parent.children.append(node)
        current = node
    return root.children


def _render(node: _Heading, top: bool) -> list[str]:
    out = [] if top else ["#" * node.level + " " + node.title]
    out += node.text
    for child in node.children:
        out += _render(child, False)
    return out


def _tidy_body(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines).strip()
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def extract_links(body: str, base_url: str = "") -> tuple[str, ...]:
    found: list[str] = []
    for url in [m.group(2) for m in MD_LINK_RE.finditer(body)] + AUTOLINK_RE.findall(body) + BARE_URL_RE.findall(body):
        url = url.strip()
        if url.startswith("/") and base_url:
            origin = re.match(r"^(https?://[^/]+)", base_url)
            url = origin.group(1) + url if origin else url
        if url.startswith(("http://", "https://")) and url not in found:
            found.append(url)
    return tuple(found[:MAX_AUTO_LINKS])


def parse_markdown(text: str, base_url: str = "") -> tuple[dict, list[ImportedEntry]]:
    """Entries of a markdown FAQ in document order, numbered from 1."""
    meta, lines = _split_front_matter(text.splitlines())
    entries: list[ImportedEntry] = []

    def walk(siblings: list[_Heading], ancestors: list[_Heading]) -> None:
        # A level of sibling headings holds entries when most of them have text of
        # their own; a question whose answer starts straight with sub-headings is
        # still an entry because its siblings are.
        titled = [h for h in siblings if not SKIP_HEADINGS.match(section_title(h.title))]
        is_entry_level = bool(titled) and sum(h.has_own_text() for h in titled) * 2 >= len(titled)
        for node in titled:
            if is_entry_level and (node.has_own_text() or node.children):
                sections = [section_title(a.title) for a in ancestors]
                body = _tidy_body(_render(node, True))
                entries.append(
                    ImportedEntry(
                        n=len(entries) + 1,
                        question=strip_inline(node.title),
                        section=sections[0] if sections else "",
                        subsection=sections[-1] if len(sections) > 1 else "",
                        anchor=slugify(node.title),
                        body=body,
                        links=extract_links(body, base_url),
                    )
                )
            else:
                walk(node.children, ancestors + [node])

    walk(_heading_tree(lines), [])
    return meta, entries


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
        if (row.get("n") or "").strip().isdigit():
            index[int(row["n"])] = item
        if item.question:
            index[_question_key(item.question)] = item
    return index


def _question_key(question: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", strip_inline(question))).lower()


def default_id(question: str, n: int) -> str:
    words = re.findall(r"[a-z0-9]+", unicodedata.normalize("NFKC", question).lower())
    if sum(1 for ch in question if ord(ch) < 128 and ch.isalpha()) >= len(question) * 0.6 and len(words) >= 2:
        return "-".join(words[:6])[:60].strip("-")
    return f"q{n:03d}"


def auto_answer(body: str) -> str:
    """A first short answer from the body, for packs nobody has curated yet."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", re.sub(r"```.*?```", "", body, flags=re.S)) if p.strip()]
    out = ""
    for para in paragraphs:
        para = strip_inline(re.sub(r"^[>*#\s-]+", "", para))
        if not para:
            continue
        out = f"{out} {para}".strip()
        if len(out) >= AUTO_ANSWER_CHARS * 0.5:
            break
    return out[:AUTO_ANSWER_CHARS].rstrip() + ("…" if len(out) > AUTO_ANSWER_CHARS else "")


class _BlockDumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_representer)


def dump_entry(data: dict) -> str:
    ordered = {k: data[k] for k in FIELD_ORDER if k in data and data[k] not in (None, "", [], ())}
    for key in ("answer", "id", "n", "question"):  # required even when empty, so validation points at them
        ordered.setdefault(key, data.get(key, ""))
    ordered = {k: ordered[k] for k in FIELD_ORDER if k in ordered}
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
    kept_hand_written: int
    new: int
    orphans: tuple[str, ...]  # existing entry files whose question is no longer in the source


def import_markdown(
    source: Path, into: Path, base_url: str = "", index: Optional[Path] = None, pack_name: str = ""
) -> ImportReport:
    meta, imported = parse_markdown(source.read_text(encoding="utf-8"), base_url)
    if not imported:
        raise ValueError(f"{source}: no headings with text found; nothing to import")
    rows = read_index(index) if index else {}
    into.mkdir(parents=True, exist_ok=True)
    existing = _existing(into)
    by_url = {str(d.get("url", "")): (p, d) for p, d in existing if d.get("url")}
    by_question = {_question_key(str(d.get("question", ""))): (p, d) for p, d in existing}
    used: set[Path] = set()
    kept = new = 0
    ids: set[str] = set()
    for item in imported:
        row = rows.get(_question_key(item.question)) or rows.get(item.n)
        anchor = row.anchor if row and row.anchor else item.anchor
        question = row.question if row and row.question else item.question
        url = f"{base_url}#{anchor}" if base_url else f"#{anchor}"
        match = by_url.get(url) or by_question.get(_question_key(question))
        path, old = match if match else (into / f"{item.n:03d}.yaml", {})
        used.add(path)
        data = {
            "id": default_id(question, item.n),
            "n": item.n,
            "question": question,
            "section": item.section,
            "subsection": item.subsection,
            "url": url,
            "answer": auto_answer(item.body),
            "links": list(item.links),
            "body": item.body,
        }
        hand = {k: old[k] for k in HAND_WRITTEN if old.get(k) not in (None, "", [])}
        kept += bool(hand)
        new += not match
        data.update(hand)
        if data["id"] in ids:
            data["id"] = f"{data['id']}-{item.n}"
        ids.add(data["id"])
        path.write_text(dump_entry(data), encoding="utf-8")
    meta_path = into / META_FILE
    if not meta_path.exists():
        info = {
            "name": pack_name or into.name,
            "title": str(meta.get("title") or source.stem),
            "source_url": base_url,
            "author": str(meta.get("author") or ""),
        }
        meta_path.write_text(
            yaml.dump({k: v for k, v in info.items() if v}, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    orphans = tuple(str(p) for p, _ in existing if p not in used)
    return ImportReport(written=len(imported), kept_hand_written=kept, new=new, orphans=orphans)
