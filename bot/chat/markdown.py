"""A pack's markdown body, rendered for a chat platform. Pure functions.

Bodies are parsed with markdown-it-py (CommonMark plus tables), never with
regexes, and walked once into rendered *blocks* (a heading, a paragraph, a
list item, a code block, …). A `Style` says how one platform spells each
piece: plain text for QQ and the console (headings as their own line, code
blocks indented so they stay readable without markdown), Slack mrkdwn in the
Slack adapter (headings bold, fences kept, links as `<url|text>`).

Working in whole blocks is what lets `cap` cut a long body between blocks,
never inside a link or a fence, and say that there is more.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, Sequence
from urllib.parse import urljoin, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

# ~1 200 characters is about a phone screen of chat; the rest is one click away
CHAT_BODY_CHARS = 1200

_PARSER = MarkdownIt("commonmark").enable("table")


class Style(Protocol):
    """How one platform writes each piece of a rendered body."""

    quote: str  # the prefix of a quoted line
    bullet: str

    def text(self, text: str) -> str: ...
    def code(self, text: str) -> str: ...
    def strong(self, inner: str) -> str: ...
    def em(self, inner: str) -> str: ...
    def link(self, url: str, label: str) -> str: ...  # url: absolute http(s), or "" when unusable
    def heading(self, plain: str) -> str: ...
    def code_block(self, code: str, info: str) -> list[str]: ...


class PlainStyle:
    """Plain text (QQ, console): no markup characters the reader would have to decode."""

    quote = "> "
    bullet = "• "

    def text(self, text: str) -> str:
        return text

    def code(self, text: str) -> str:
        # a command with spaces keeps its backticks, so its ends stay visible in a sentence
        return f"`{text}`" if any(ch.isspace() for ch in text.strip()) else text

    def strong(self, inner: str) -> str:
        return inner

    def em(self, inner: str) -> str:
        return inner

    def link(self, url: str, label: str) -> str:
        label = label.strip()
        if not url:
            return label
        if not label or label == url or label.rstrip("/") == url.rstrip("/"):
            return url
        return f"{label} ({url})"

    def heading(self, plain: str) -> str:
        return f"【{plain}】"

    def code_block(self, code: str, info: str) -> list[str]:
        return ["    " + line if line.strip() else "" for line in code.rstrip("\n").split("\n")]


@dataclass(frozen=True)
class Block:
    """One rendered block; `tight` ones (items of one list) follow the previous on the next line."""

    text: str
    tight: bool = False
    code: bool = False
    heading: bool = False


def absolute_url(href: str, base: str = "") -> str:
    """An absolute http(s) URL for a link, resolving relative ones against `base`; "" when there is none."""
    href = (href or "").strip()
    if not href or href.startswith("#") and not base:
        return ""
    url = urljoin(base, href) if base else href
    return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc else ""


def _inline(children: Sequence[Token], style: Style, base: str) -> str:
    out: list[str] = []
    # (kind, output position, href) of the spans still open
    stack: list[tuple[str, int, str]] = []
    for at_token, tok in enumerate(children):
        kind = tok.type
        if kind == "text":
            # CommonMark does not open `**` between a CJK letter and punctuation ("那些**[链接](…)**"),
            # so the markers reach us as text: they were meant as emphasis, never as words
            out.append(style.text(tok.content.replace("**", "")))
        elif kind == "code_inline":
            out.append(style.code(tok.content))
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "html_inline":
            continue  # <br>, <img …>: markup, not words
        elif kind == "image":
            alt = tok.content or "".join(c.content for c in tok.children or ())
            url = absolute_url(str(tok.attrGet("src") or ""), base)
            out.append(style.link(url, alt or url))
        elif kind.endswith("_open") and kind[:-5] in ("strong", "em", "link", "s"):
            stack.append((kind[:-5], len(out), str(tok.attrGet("href") or "")))
        elif kind.endswith("_close") and stack and stack[-1][0] == kind[:-6]:
            span, at, href = stack.pop()
            inner_tokens = out[at:]
            del out[at:]
            if span == "link":
                # the label as the reader sees it: the literal text of the span
                label = _plain_label(children, at_token)
                out.append(style.link(absolute_url(href, base), label))
            elif span == "strong":
                out.append(style.strong("".join(inner_tokens)))
            elif span == "em":
                out.append(style.em("".join(inner_tokens)))
            else:
                out.append("".join(inner_tokens))
    return "".join(out)


def _plain_label(children: Sequence[Token], end: int) -> str:
    """The text between the link_close at `end` and the link_open it closes (tokens compare
    by value, so the position, not the token, says which one)."""
    depth = 0
    for start in range(end - 1, -1, -1):
        tok = children[start]
        if tok.type == "link_close":
            depth += 1
        elif tok.type == "link_open":
            if depth == 0:
                break
            depth -= 1
    else:
        return ""
    return "".join(t.content for t in children[start + 1:end] if t.type in ("text", "code_inline"))


@dataclass
class _Frame:
    first: str
    rest: str
    used: bool = False

    def prefix(self) -> str:
        if self.used:
            return self.rest
        self.used = True
        return self.first


def _prefixed(lines: list[str], stack: list[_Frame]) -> str:
    first = "".join(f.prefix() for f in stack)
    rest = "".join(f.rest for f in stack)
    return "\n".join((first if i == 0 else rest) + line for i, line in enumerate(lines)).rstrip()


def render_blocks(markdown: str, style: Style, base_url: str = "") -> list[Block]:
    """The body as rendered blocks, in order."""
    tokens = _PARSER.parse(markdown or "")
    blocks: list[Block] = []
    stack: list[_Frame] = []
    ordinal: list[int] = []  # the next number of each open ordered list (0: a bullet list)
    hidden = False  # inside a tight list item: its paragraphs are not separated
    row: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        kind = tok.type
        in_item = any(f.first.strip() and f.first != style.quote for f in stack)
        if kind in ("bullet_list_open", "ordered_list_open"):
            ordinal.append(int(tok.attrGet("start") or 1) if kind == "ordered_list_open" else 0)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            ordinal.pop()
        elif kind == "list_item_open":
            n = ordinal[-1] if ordinal else 0
            marker = f"{n}. " if n else style.bullet
            if n:
                ordinal[-1] += 1
            stack.append(_Frame(marker, " " * len(marker)))
        elif kind == "blockquote_open":
            stack.append(_Frame(style.quote, style.quote))
        elif kind in ("list_item_close", "blockquote_close"):
            stack.pop()
        elif kind == "paragraph_open":
            hidden = tok.hidden
        elif kind == "heading_open":
            text = _inline(tokens[i + 1].children or (), PlainStyle(), base_url).replace("\n", " ").strip()
            if text:
                blocks.append(Block(_prefixed([style.heading(text)], stack), heading=True))
            i += 3
            continue
        elif kind == "inline":
            text = _inline(tok.children or (), style, base_url).strip()
            if text:
                blocks.append(Block(_prefixed(text.split("\n"), stack), tight=hidden or in_item))
        elif kind in ("fence", "code_block"):
            lines = style.code_block(tok.content, tok.info.strip())
            blocks.append(Block(_prefixed(lines, stack), code=True))
        elif kind == "hr":
            blocks.append(Block(_prefixed(["———"], stack)))
        elif kind == "html_block":
            pass  # raw HTML is markup; the pack's words are in its markdown
        elif kind == "tr_open":
            row = []
        elif kind in ("th_open", "td_open"):
            row.append(_inline(tokens[i + 1].children or (), style, base_url).replace("\n", " ").strip())
            i += 3
            continue
        elif kind == "tr_close":
            blocks.append(Block(_prefixed([" | ".join(row)], stack), tight=True))
        i += 1
    return blocks


def join_blocks(blocks: Sequence[Block]) -> str:
    out = ""
    for block in blocks:
        if out:
            out += "\n" if block.tight else "\n\n"
        out += block.text
    return out


def cap(blocks: Sequence[Block], limit: int) -> tuple[list[Block], bool]:
    """The leading blocks that fit in `limit` characters, and whether anything was left out.

    A first block too long on its own is cut at a line end (a code block keeps
    its closing fence line, when it has one), so something is always shown."""
    kept: list[Block] = []
    used = 0
    for n, block in enumerate(blocks):
        cost = len(block.text) + (2 if kept else 0)
        if used + cost <= limit:
            kept.append(block)
            used += cost
            continue
        room = limit - used - (2 if kept else 0)
        if room >= min(200, limit // 3):
            cut = _cut_lines(block, room)
            if cut is not None:
                kept.append(cut)
        while len(kept) > 1 and kept[-1].heading:  # a heading whose section is left out says nothing
            kept.pop()
        return kept, True
    return kept, False


def _cut_lines(block: Block, room: int) -> Optional[Block]:
    """The block's first lines that fit in `room`, then "…" (inside a fence, before its closing line)."""
    lines = block.text.split("\n")
    closing = lines[-1] if block.code and len(lines) > 1 and lines[-1].strip().startswith("```") else ""
    body = lines[:-1] if closing else lines
    taken: list[str] = []
    size = 2 + (len(closing) + 1 if closing else 0)  # the "…" line and the closing fence
    for line in body:
        if size + len(line) + 1 > room:
            break
        taken.append(line)
        size += len(line) + 1
    if len(taken) < (2 if closing else 1):
        return None
    return Block("\n".join(taken + ["…"] + ([closing] if closing else [])), block.tight, block.code, block.heading)


def render(markdown: str, style: Style, base_url: str = "", limit: int = 0) -> tuple[str, bool]:
    """The rendered body, at most about `limit` characters (0: all of it), and whether it was cut."""
    blocks = render_blocks(markdown, style, base_url)
    truncated = False
    if limit:
        blocks, truncated = cap(blocks, limit)
    return join_blocks(blocks), truncated


def to_plain(markdown: str, base_url: str = "") -> str:
    """The whole body as plain text."""
    return render(markdown, PlainStyle(), base_url)[0]
