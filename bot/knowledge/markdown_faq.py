"""Read a markdown FAQ as people write it: which headings (or table rows) are questions.

The document is parsed by markdown-it (CommonMark + tables), so fences, escapes,
inline code and links follow the markdown rules rather than line regexes. What
is left to decide is the FAQ's shape, and these rules do it:

- a heading that is not itself a question but has question-shaped headings
  with text below it (a title and intro above the questions, a section of
  questions) is a container: its children are looked at, not it;
- among sibling headings, a level where at least half have text of their own
  holds entries; a question's own sub-headings stay in its body;
- a section titled like "FAQ" inside a longer document (a README) is the FAQ:
  only it, plus question-shaped headings straight after it, is imported;
- a table whose first column is a question, error message or symptom gives one
  entry per row (the other columns are its answer).

Everything here is pure: text in, typed entries and warnings out.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html import unescape
from typing import Iterable, Optional, Sequence
from urllib.parse import urljoin

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

SKIP_HEADINGS = re.compile(
    r"^(前言|序言?|目录|简介|preface|introduction|table of contents|contents|toc|about)$", re.I
)
FAQ_TITLE = re.compile(
    r"^\s*(?:[\d.]+\s*)?(faqs?|f\.a\.q\.?|frequently asked questions|常见问题(?:解答)?|常见问答|问答|q\s*&\s*a)\s*$", re.I
)
QUESTION_WORDS = re.compile(
    r"^(how|what|why|when|where|which|who|whom|whose|can|could|does|do|did|is|are|was|were|should|shall|"
    r"will|would|may|might|must|has|have|am)\b|^(如何|怎么|怎样|为什么|为何|什么|哪|能否|能不能|可否|可以|是否|有没有)",
    re.I,
)
ERROR_SHAPED = re.compile(r"^([\w.]*(error|exception)\b|fatal\b|warning:|e\d{3,}\b)|\berror:", re.I)
# a table gives entries when its first column is the question side
SUMMARY_RE = re.compile(r"<summary[^>]*>(.*?)</summary>", re.S | re.I)
QUESTION_PARAGRAPH = re.compile(r"^(Q|问|Question)\s*\d*\s*[:：.、]\s*", re.I)
QUESTION_COLUMN = re.compile(r"(错误|报错|问题|现象|症状|提问|error|message|question|problem|symptom|issue|\bq\b)", re.I)
ANSWER_PREFIX = re.compile(r"^(答|回答|解答|A|Answer)\s*[:：]\s*", re.I)
COUNT_BADGE_RE = re.compile(r"\s*[(（]\s*\d+\s*[)）]\s*$")
BARE_URL_RE = re.compile(r"https?://[^\s<>\"'`，。；、）】」]+")
TRAILING_PUNCT = ".,;:!?*_~'\"…。，；：！？、"
MAX_AUTO_LINKS = 5
AUTO_ANSWER_CHARS = 300

_MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class ImportedEntry:
    """One question found in a document, with what the importer derives from it."""

    n: int
    question: str
    section: str
    subsection: str
    anchor: str
    body: str  # the answer's markdown as written (sub-headings included)
    links: tuple[str, ...]
    answer: str = ""  # a first short answer: leading text, inline code kept in backticks
    source: str = ""  # the file it came from, when several are imported together


@dataclass(frozen=True)
class ParsedDocument:
    meta: dict
    entries: tuple[ImportedEntry, ...]
    warnings: tuple[str, ...]
    question_headings: int  # question-shaped headings outside code, the whole document
    table_rows: int  # entries that came from table rows
    title: str = ""  # the front matter's title, else the document's own title heading


# ---------------------------------------------------------------- inline text


def _code_span(text: str) -> str:
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def inline_text(token: Optional[Token], keep_code: bool = False) -> str:
    """An inline token as one line of text: escapes resolved, emphasis dropped,
    links by their text. With `keep_code` (answers) inline code keeps its backticks
    and images are left out; otherwise (titles) an image counts by its alt text."""
    return _children_text(token.children or [] if token is not None else [], keep_code)


def _children_text(children: list[Token], keep_code: bool = False) -> str:
    out: list[str] = []
    for child in children:
        if child.type in ("text", "text_special"):
            out.append(child.content)
        elif child.type == "code_inline":
            out.append(_code_span(child.content) if keep_code else child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image" and not keep_code:  # alt text names a picture in a title, not in an answer
            out.append(child.content or "")
        elif child.type == "html_inline" and re.match(r"<br\s*/?>", child.content, re.I):
            out.append("; ")
    return re.sub(r"\s+", " ", "".join(out)).strip()


def trim_url(url: str) -> str:
    """A bare URL without the sentence punctuation after it (GFM autolink rules)."""
    while url:
        if url[-1] in TRAILING_PUNCT:
            url = url[:-1]
        elif url[-1] == ")" and url.count(")") > url.count("("):
            url = url[:-1]
        else:
            break
    return url


def _inline_links(token: Token) -> Iterable[str]:
    in_link = False
    for child in token.children or []:
        if child.type == "link_open":
            in_link = True
            yield str(child.attrGet("href") or "")
        elif child.type == "link_close":
            in_link = False
        elif child.type == "text" and not in_link:
            yield from (trim_url(m) for m in BARE_URL_RE.findall(child.content))


# example hosts in answers are illustrations, not references to follow
NOT_A_REFERENCE = re.compile(r"^https?://(localhost|127\.|0\.0\.0\.0|\[::1\]|([\w-]+\.)*example\.(com|org|net)\b)", re.I)


def _absolute(url: str, page_url: str) -> str:
    url = url.strip()
    if NOT_A_REFERENCE.match(url):
        return ""
    if url.startswith(("http://", "https://")):
        return url
    if page_url and not url.startswith(("#", "mailto:", "javascript:")) and url:
        joined = urljoin(page_url, url)
        return joined if joined.startswith(("http://", "https://")) else ""
    return ""


# ---------------------------------------------------------------- blocks and headings


@dataclass
class _Block:
    kind: str  # the opening token's type: paragraph_open, fence, table_open, ...
    start: int  # source lines, 0-based, end exclusive
    end: int
    tokens: list[Token]


@dataclass
class _Heading:
    level: int
    inline: Optional[Token]
    line: int  # line of the heading itself (0-based)
    body_start: int
    end: int = 0  # end of its section: the next heading at its level or above
    anchor: str = ""
    blocks: list[_Block] = field(default_factory=list)  # directly under it, before any child
    children: list["_Heading"] = field(default_factory=list)
    parent: Optional["_Heading"] = None

    @property
    def title(self) -> str:
        return inline_text(self.inline)

    def has_own_text(self) -> bool:
        return any(_is_content(b) for b in self.blocks)


def _is_content(block: _Block) -> bool:
    if block.kind == "hr":
        return False
    if block.kind == "html_block":
        text = re.sub(r"<!--.*?-->", "", block.tokens[0].content, flags=re.S)
        return bool(re.sub(r"<[^>]*>", "", text).strip())
    if block.kind == "table_open" and _question_table(block):
        return False
    return True


def _blocks(tokens: list[Token]) -> Iterable[tuple[str, _Block, Optional[Token]]]:
    """Top-level blocks in order; headings come as ("heading", block, inline)."""
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.nesting == 1:
            depth, j = 0, i
            while j < len(tokens):
                depth += tokens[j].nesting
                if depth == 0:
                    break
                j += 1
            span = tokens[i : j + 1]
            start, end = (tok.map or [0, 0])
            block = _Block(tok.type, start, end, span)
            if tok.type == "heading_open":
                yield "heading", block, span[1] if len(span) > 1 else None
            else:
                yield "block", block, None
            i = j + 1
        else:
            start, end = (tok.map or [0, 0])
            yield "block", _Block(tok.type, start, end, [tok]), None
            i += 1


def _tree(tokens: list[Token], n_lines: int) -> tuple[list[_Block], list[_Heading]]:
    root = _Heading(0, None, -1, 0)
    current = root
    for kind, block, inline in _blocks(tokens):
        if kind == "block":
            current.blocks.append(block)  # blocks belong to the most recent heading
            continue
        level = int(block.tokens[0].tag[1])
        parent = current
        while parent.level >= level:
            parent = parent.parent  # type: ignore[assignment]
        node = _Heading(level, inline, block.start, block.end, parent=parent)
        parent.children.append(node)
        current = node
    _set_ends(root.children, n_lines)
    return root.blocks, root.children


def _set_ends(siblings: list[_Heading], end: int) -> None:
    for i, node in enumerate(siblings):
        node.end = siblings[i + 1].line if i + 1 < len(siblings) else end
        _set_ends(node.children, node.end)


def _walk_all(nodes: list[_Heading]) -> Iterable[_Heading]:
    for node in nodes:
        yield node
        yield from _walk_all(node.children)


# ---------------------------------------------------------------- shapes


def question_shaped(title: str) -> bool:
    """A heading that reads as a question or an error message."""
    title = title.strip()
    return bool(
        "?" in title or "？" in title or QUESTION_WORDS.match(title) or ERROR_SHAPED.search(title)
        or re.search(r"[吗么呢嘛]\s*[。.!！]?$", title)
    )


def section_title(title: str) -> str:
    return COUNT_BADGE_RE.sub("", title).strip()


def slugify(text: str) -> str:
    """GitHub-style heading anchor: lowercase, punctuation dropped, spaces to '-'."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return re.sub(r"\s", "-", text.strip())


def _question_table(block: _Block) -> bool:
    if block.kind != "table_open":
        return False
    headers = [t for t in block.tokens if t.type == "inline"]
    first = next((t for t in block.tokens if t.type == "th_open"), None)
    if first is None or not headers:
        return False
    columns = sum(1 for t in block.tokens if t.type == "th_open")
    rows = sum(1 for t in block.tokens if t.type == "tr_open") - 1
    return columns >= 2 and rows >= 1 and bool(QUESTION_COLUMN.search(inline_text(headers[0])))


def _table_rows(block: _Block) -> list[tuple[list[Token], tuple[int, int]]]:
    rows: list[tuple[list[Token], tuple[int, int]]] = []
    cells: list[Token] = []
    line = (0, 0)
    for tok in block.tokens:
        if tok.type == "tr_open":
            cells, line = [], tuple(tok.map or (0, 0))  # type: ignore[assignment]
        elif tok.type == "inline":
            cells.append(tok)
        elif tok.type == "tr_close":
            rows.append((cells, line))
    return rows


def _paragraph_question(block: _Block) -> Optional[tuple[str, str]]:
    """(question, rest of the paragraph) for a paragraph that asks: one that opens
    with a bold question (`**Why …?**`) or with `Q:` / `问：` on its first line."""
    if block.kind == "html_block":  # <details><summary>Question?</summary> … </details>
        summary = SUMMARY_RE.search(block.tokens[0].content)
        question = _html_text(summary.group(1)) if summary else ""
        if not question or len(question) > 200 or not question_shaped(question):
            return None
        return question, _html_text(block.tokens[0].content[summary.end() :])  # type: ignore[union-attr]
    if block.kind != "paragraph_open" or len(block.tokens) < 2:
        return None
    kids = [k for k in block.tokens[1].children or [] if k.type != "text" or k.content]
    if kids and kids[0].type == "strong_open":
        close = next((i for i, k in enumerate(kids) if k.type == "strong_close"), len(kids))
        head, rest = _children_text(kids[1:close]), _children_text(kids[close + 1 :], keep_code=True)
    else:
        brk = next((i for i, k in enumerate(kids) if k.type in ("softbreak", "hardbreak")), len(kids))
        head, rest = _children_text(kids[:brk]), _children_text(kids[brk + 1 :], keep_code=True)
        if not QUESTION_PARAGRAPH.match(head):
            return None
    prefix = QUESTION_PARAGRAPH.match(head)
    question = head[prefix.end() :].strip() if prefix else head
    if not question or len(question) > 200 or not (prefix or question_shaped(question)):
        return None
    return question, ANSWER_PREFIX.sub("", rest.strip())


def _html_text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]*>", " ", html))).strip()


def _paragraph_questions(blocks: list[_Block]) -> int:
    count = sum(1 for b in blocks if _paragraph_question(b))
    return count if count >= 2 else 0  # one bold question is emphasis, not a list of questions


def _subtree_questions(node: _Heading) -> int:
    return sum(1 for d in _walk_all(node.children) if (d.has_own_text() or d.children) and question_shaped(d.title)) + sum(
        len(_table_rows(b)) - 1 for d in _walk_all([node]) for b in d.blocks if _question_table(b)
    ) + sum(_paragraph_questions(d.blocks) for d in _walk_all([node]))


def _is_container(node: _Heading, lone: bool) -> bool:
    """A title, intro or section above the questions rather than a question itself."""
    if any(_question_table(b) for b in node.blocks) or FAQ_TITLE.match(node.title) and node.children:
        return True
    if not question_shaped(node.title) and _paragraph_questions(node.blocks):
        return True
    if not node.children:
        return False
    if question_shaped(node.title):
        return False
    if _subtree_questions(node) >= 2:
        return True
    # the document's lone title over entries that are statements
    return lone and sum(1 for c in node.children if c.has_own_text()) >= 2


# ---------------------------------------------------------------- answers


def _code_first_line(block: _Block) -> str:
    """The first command of a code block: comments skipped, shell prompts removed, a
    command continued over lines (`\\` at their end) joined into one."""
    lines = block.tokens[0].content.splitlines()
    for i, line in enumerate(lines):
        line = line.strip()
        if not line or line.startswith(("#", "//", "--", "<!--", "REM ")):
            continue
        command = re.sub(r"^(\$|>|PS>|C:\\>|\[[^\]]*\][#$]|[\w.-]+@[\w.-]+:\S*[#$])\s+", "", line)
        for more in lines[i + 1 : i + 1 + MAX_CONTINUED_LINES]:
            if not command.endswith("\\"):
                break
            command = f"{command[:-1].rstrip()} {more.strip()}"
        return command.rstrip("\\ ")
    return ""


MAX_CONTINUED_LINES = 3  # of a command continued with `\`: the start says what it runs
CONFIG_LANGUAGES = frozenset(("yaml", "yml", "json", "toml", "ini", "xml", "conf", "properties", "nginx"))


def _is_config(block: _Block, line: str) -> bool:
    """A code block holding a configuration file, not a command: its first line alone
    ("delete:", `version: "2"`, "{") says nothing an answer could use. A key with one
    word of value is configuration; "Error: Cannot access .Option on the server." is an
    error message, and says what the answer is about."""
    info = (block.tokens[0].info or "").strip().split(" ")[0].lower()
    return info in CONFIG_LANGUAGES or bool(re.match(r"^([\w.-]+:(\s*|\s+\S+)$|[{<\[])", line))


def _list_text(block: _Block) -> str:
    items: list[str] = []
    depth = 0
    for tok in block.tokens:
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif tok.type == "inline" and depth == 1:
            text = inline_text(tok, keep_code=True)
            if text:
                items.append(text.rstrip("；;。."))
    return "; ".join(items) + ("" if not items else "。" if _cjk(items[-1]) else ".")


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


_SENTENCE_END = re.compile(r"[。！？!?；]|[.;](\s|$)")
_FULL_STOP = re.compile(r"[。！？!?]|[.](\s|$)")


def _truncate(text: str, limit: int = AUTO_ANSWER_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    if ends and ends[-1] >= limit // 3:
        return cut[: ends[-1]].rstrip()
    if cut.count("`") % 2:
        cut = cut[: cut.rfind("`")]
    return cut.rstrip() + "…"


def auto_answer(blocks: list[_Block]) -> str:
    """A first short answer for packs nobody has curated yet: the leading text,
    inline code in backticks; a code block counts by its first command when the
    text before it is short (a code-only answer still gets one) or ends with a colon
    that introduces it ("… the `-L` option. As in:" then `curl -L https://example.com`).
    It never ends on such a colon (see _no_dangling_colon)."""
    parts: list[str] = []
    size = 0
    for block in blocks:
        introduced = bool(parts) and parts[-1].endswith(_COLONS)
        text = ""
        if block.kind in ("paragraph_open", "blockquote_open"):
            text = " ".join(inline_text(t, keep_code=True) for t in block.tokens if t.type == "inline")
        elif block.kind in ("bullet_list_open", "ordered_list_open"):
            text = _list_text(block)
        elif block.kind in ("fence", "code_block") and (size < 80 or introduced):
            line = _code_first_line(block)
            # a colon before a command's output ("if you see this:", the command shown again
            # above it) introduces the output, not the command
            # or a configuration file: its first line is not what the colon promised
            text = _code_span(line) if line and not (introduced and (line in " ".join(parts) or _is_config(block, line))) else ""
        elif block.kind == "table_open" and not parts:
            rows = _table_rows(block)
            text = "; ".join(" | ".join(inline_text(c, keep_code=True) for c in cells) for cells, _ in rows[1:3])
        text = ANSWER_PREFIX.sub("", text.strip()) if not parts else text.strip()
        if not text:
            if introduced:
                break  # what the colon introduced is not for a short answer (a table, an image)
            continue
        parts.append(text)
        size += len(text)
        if size >= AUTO_ANSWER_CHARS // 2 and (introduced or not text.endswith(_COLONS)):
            break
    joined = ""
    for part in parts:
        sep = "" if not joined or (_cjk(joined[-1:]) or joined[-1:] in "。，；：！？") and _cjk(part[:1]) else " "
        joined = f"{joined}{sep}{part}"
    return _no_dangling_colon(_truncate(joined.strip()))


_COLONS = (":", "：")


def _no_dangling_colon(text: str) -> str:
    """An answer cut right after a colon ("… do something like:", "如下：") promises what it
    does not show: it ends at the sentence before instead, or, when there is none worth
    keeping, with an ellipsis (the reply's link leads to the rest)."""
    if not text.endswith(_COLONS):
        return text
    ends = [m.end() for m in _FULL_STOP.finditer(text[:-1])]  # not at a semicolon: the sentence goes on
    if ends and ends[-1] >= len(text) // 3:
        return text[: ends[-1]].rstrip()
    return text[:-1].rstrip() + "…"


# ---------------------------------------------------------------- documents


def split_front_matter(text: str) -> tuple[dict, str, int]:
    """(metadata, the rest, lines removed) for a document with a YAML front matter."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                try:
                    meta = yaml.safe_load("\n".join(lines[1:i])) or {}
                except yaml.YAMLError:
                    meta = {}
                return (meta if isinstance(meta, dict) else {}), "\n".join(lines[i + 1 :]), i + 1
    return {}, text, 0


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    text = re.sub(r"<!--.*?-->|^\s*</details>\s*$", "", text, flags=re.S | re.M)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@dataclass
class _Found:
    question: str
    sections: list[str]
    anchor: str
    lines: list[str]  # the answer's source lines
    blocks: list[_Block]  # its blocks, for the short answer
    links: list[str]
    answer: str = ""  # set for table rows, whose answer is the other cells
    from_table: bool = False


def _faq_scope(top: list[_Heading]) -> Optional[list[_Heading]]:
    """A FAQ that is one section of a longer document: that section, plus the
    question-shaped headings straight after it (a last question written one level up)."""
    for node in _walk_all(top):
        held = sum(1 for d in _walk_all(node.children) if d.has_own_text()) + _subtree_questions(node)
        if not FAQ_TITLE.match(node.title) or held < 2:
            continue
        outside = [s for s in _walk_all(top) if s.has_own_text() and not _inside(s, node)]
        if len(outside) < 2:
            return None  # the whole document is the FAQ
        siblings = node.parent.children if node.parent is not None else top
        scope = [node]
        for after in siblings[siblings.index(node) + 1 :]:
            if not (question_shaped(after.title) and after.has_own_text()):
                break
            scope.append(after)
        return scope
    return None


def _inside(node: Optional[_Heading], ancestor: _Heading) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


def _code_warnings(tokens: list[Token], lines: list[str], offset: int, name: str) -> list[str]:
    out = []
    for tok in tokens:
        if tok.type != "fence" or not tok.map:
            continue
        where = f"{name}:{tok.map[0] + 1 + offset}"
        last = lines[tok.map[1] - 1].strip() if tok.map[1] - 1 < len(lines) else ""
        if tok.map[1] >= len(lines) and not (last.startswith(tok.markup) and last.strip(tok.markup[0]) == ""):
            out.append(f"{where}: a code block opens here and never closes; the rest of the document is code")
        code = tok.content.splitlines()
        headingish = [c for c in code if re.match(r"^#{2,6}\s+\S", c) or (re.match(r"^#\s+\S", c) and question_shaped(c[1:]))]
        if len(headingish) >= 2:
            out.append(f"{where}: {len(headingish)} heading-like lines inside a code block (an unclosed fence?)")
    return out


def _table_entries(blocks: list[_Block], sections: list[str], anchor: str) -> list[_Found]:
    """One entry per row of a question table: the first cell asks, the others answer."""
    out = []
    for block in blocks:
        if not _question_table(block):
            continue
        rows = _table_rows(block)
        headers = [inline_text(c) for c in rows[0][0]]
        for cells, _ in rows[1:]:
            question = inline_text(cells[0]) if cells else ""
            if not question:
                continue
            answers, body = [], []
            for i, cell in enumerate(cells[1:], 1):
                if not inline_text(cell):
                    continue
                head = headers[i] if i < len(headers) else ""
                answers.append(f"{head}：{inline_text(cell, keep_code=True)}" if head else inline_text(cell, keep_code=True))
                body.append(f"**{head}**: {_cell_md(cell)}" if head else _cell_md(cell))
            links = [u for c in cells for u in _inline_links(c)]
            out.append(
                _Found(question, sections, anchor, ["\n\n".join(body)], [], links,
                       answer=_truncate("\n".join(answers)), from_table=True)
            )
    return out


def _paragraph_entries(
    blocks: list[_Block], lines: list[str], end: int, sections: list[str], anchor: str
) -> list[_Found]:
    """Entries from questions written as paragraphs (bold, or `Q:`), each answered by
    the rest of its paragraph and the blocks up to the next question (or `end`)."""
    if not _paragraph_questions(blocks):
        return []
    starts = [i for i, b in enumerate(blocks) if _paragraph_question(b)]
    out = []
    for k, i in enumerate(starts):
        question, rest = _paragraph_question(blocks[i])  # type: ignore[misc]
        following = blocks[i + 1 : starts[k + 1]] if k + 1 < len(starts) else blocks[i + 1 :]
        stop = blocks[starts[k + 1]].start if k + 1 < len(starts) else end
        body = ([rest, ""] if rest else []) + lines[blocks[i].end : stop]
        links = [u for b in [blocks[i]] + following for t in b.tokens if t.type == "inline" for u in _inline_links(t)]
        answer = _truncate(" ".join(p for p in (rest, auto_answer(following)) if p))
        out.append(_Found(question, sections, anchor, body, following, links, answer=answer))
    return out


def parse_document(text: str, page_url: str = "", name: str = "", start: int = 1) -> ParsedDocument:
    """Entries of one markdown FAQ in document order, numbered from `start`."""
    meta, body_text, offset = split_front_matter(text)
    lines = body_text.splitlines()
    tokens = _MD.parse(body_text)
    root_blocks, top = _tree(tokens, len(lines))
    seen: dict[str, int] = {}
    for node in _walk_all(top):  # anchors numbered over every heading, as GitHub does
        slug = slugify(node.title)
        node.anchor = slug if slug not in seen else f"{slug}-{seen[slug]}"
        seen[slug] = seen.get(slug, 0) + 1
    found: list[_Found] = []

    def entry(node: _Heading, sections: list[str]) -> None:
        skip = {i for b in _walk_blocks(node) if _question_table(b) for i in range(b.start, b.end)}
        body = [lines[i] for i in range(node.body_start, node.end) if i not in skip]
        blocks = [b for b in _walk_blocks(node) if not _question_table(b)]
        links = [u for b in blocks for t in b.tokens if t.type == "inline" for u in _inline_links(t)]
        found.append(_Found(node.title, sections, node.anchor, body, blocks, links))
        for sub in _walk_all([node]):
            found.extend(_table_entries(sub.blocks, sections + [section_title(node.title)], node.anchor))

    def walk(siblings: list[_Heading], ancestors: list[str], at_root: bool) -> None:
        titled = [h for h in siblings if not SKIP_HEADINGS.match(section_title(h.title))]
        lone = at_root and len(titled) == 1
        containers = {id(h) for h in titled if _is_container(h, lone)}
        rest = [h for h in titled if id(h) not in containers]
        is_entry_level = bool(rest) and sum(h.has_own_text() for h in rest) * 2 >= len(rest)
        for node in titled:
            if id(node) not in containers and is_entry_level and node.title and (node.has_own_text() or node.children):
                entry(node, ancestors)
                continue
            # the document's title and a "FAQ" heading name no section
            inner = ancestors if lone or FAQ_TITLE.match(node.title) else ancestors + [section_title(node.title)]
            found.extend(_table_entries(node.blocks, inner or [section_title(node.title)], node.anchor))
            own_end = node.children[0].line if node.children else node.end
            found.extend(_paragraph_entries(node.blocks, lines, own_end, inner or [section_title(node.title)], node.anchor))
            walk(node.children, inner, False)

    scope = _faq_scope(top)
    if scope is not None:
        walk(scope[:1], [], False)
        for node in scope[1:]:
            entry(node, [])
    else:
        found.extend(_table_entries(root_blocks, [], ""))
        found.extend(_paragraph_entries(root_blocks, lines, top[0].line if top else len(lines), [], ""))
        walk(top, [], True)

    entries = []
    no_text = []
    for k, item in enumerate(found):
        links: list[str] = []
        for url in item.links:
            url = _absolute(url, page_url)
            if url and url not in links:
                links.append(url)
        body = _tidy(item.lines)
        answer = item.answer or auto_answer(item.blocks) or _truncate(_plain(body))
        if not answer:  # an image or markup only: the pack must stay valid, so say so
            answer = item.question
            no_text.append(str(start + k))
        entries.append(
            ImportedEntry(
                n=start + k,
                question=item.question,
                section=item.sections[0] if item.sections else "",
                subsection=item.sections[-1] if len(item.sections) > 1 else "",
                anchor=item.anchor,
                body=body,
                links=tuple(links[:MAX_AUTO_LINKS]),
                answer=answer,
                source=name,
            )
        )
    qcount = sum(1 for h in _walk_all(top) if question_shaped(h.title) and h.has_own_text())
    rows = sum(1 for item in found if item.from_table)
    warnings = _document_warnings(entries, qcount, tokens, lines, offset, name or "document")
    if no_text:
        warnings.append(f"{name or 'document'}: entries {', '.join(no_text)} have no text to answer with; their answer is the question")
    return ParsedDocument(meta, tuple(entries), tuple(warnings), qcount, rows, _title(meta, top))


def _title(meta: dict, top: list[_Heading]) -> str:
    """The front matter's title, a lone top heading, or a first `#` heading with
    nothing of its own (curl's "Frequently Asked Questions")."""
    if meta.get("title"):
        return str(meta["title"])
    if len(top) == 1 and top[0].level == 1:
        return top[0].title
    first = top[0] if top else None
    if first is not None and first.level == 1 and not first.children and not first.has_own_text():
        return first.title
    return ""


def _plain(markdown: str) -> str:
    """Markdown reduced to its words, for an answer of last resort."""
    text = re.sub(r"<[^>]*>|!\[[^\]]*\]\([^)]*\)|[`*_#>|]", " ", markdown)
    return re.sub(r"\s+", " ", text).strip()


def _cell_md(cell: Token) -> str:
    return re.sub(r"\s*<br\s*/?>\s*", "\n", cell.content or "", flags=re.I).strip()


def _walk_blocks(node: _Heading) -> Iterable[_Block]:
    for sub in _walk_all([node]):
        yield from sub.blocks


def _document_warnings(
    entries: list[ImportedEntry], qcount: int, tokens: list[Token], lines: list[str], offset: int, name: str
) -> list[str]:
    out = _code_warnings(tokens, lines, offset, name)
    total = sum(len(e.body) for e in entries) or 1
    if len(entries) == 1 and (len(entries[0].body) > 1500 or entries[0].body.count("\n#") >= 2):
        out.append(f"{name}: the whole document became one entry ({len(entries[0].body)} characters); are the questions headings?")
    for e in entries:
        if len(entries) > 1 and len(e.body) > 4000 and len(e.body) > 0.4 * total:
            out.append(f"{name}: entry {e.n} ('{e.question[:50]}') holds {len(e.body) * 100 // total}% of the text")
    if qcount >= 4 and len(entries) < qcount / 2:
        out.append(
            f"{name}: {len(entries)} entries from {qcount} question-shaped headings; check the heading levels"
        )
    if not entries:
        out.append(f"{name}: no questions found (headings with text, or a table of questions)")
    return out


def parse_markdown(text: str, base_url: str = "") -> tuple[dict, list[ImportedEntry]]:
    """Compatibility wrapper: (front matter, entries) of one document."""
    doc = parse_document(text, base_url)
    return doc.meta, list(doc.entries)


def pack_warnings(entries: Sequence[tuple[str, str, str]]) -> list[str]:
    """Signs that a pack was imported from a document of another shape, from its
    entries as (id, question, body): one giant entry, questions left inside
    bodies, markdown headings inside code. Warnings, not errors."""
    out: list[str] = []
    total = sum(len(body) for _, _, body in entries) or 1
    inner: list[str] = []
    for eid, question, body in entries:
        tokens = _MD.parse(body)
        headings = [inline_text(tokens[i + 1]) for i, t in enumerate(tokens) if t.type == "heading_open"]
        questions = [h for h in headings if question_shaped(h)]
        if questions:
            inner.append(f"{eid} ({len(questions)})")
        if len(entries) == 1 and (len(body) > 1500 or len(headings) >= 2):
            out.append(f"[{eid}] the whole pack is one entry of {len(body)} characters; were the questions headings?")
        elif len(entries) >= 3 and len(body) > 4000 and len(body) > 0.4 * total:
            out.append(f"[{eid}] one entry holds {len(body) * 100 // total}% of the pack's text")
        out += [w.replace("body:", f"[{eid}] line ", 1) for w in _code_warnings(tokens, body.splitlines(), 0, "body")]
    count = sum(int(s.rsplit("(", 1)[1].rstrip(")")) for s in inner)
    if count >= 3 and count * 2 >= len(entries):
        out.append(
            f"{count} question-shaped headings sit inside entry bodies ({', '.join(inner[:5])}"
            f"{', ...' if len(inner) > 5 else ''}): the questions may be a level deeper than the import took"
        )
    return out
