"""What the bot says, in the asker's language, for every platform.

Pure functions of engine values; no platform imports. The plain-text
platforms (console, QQ) send these strings as they are; Slack builds its
blocks from the same pieces (`listing`, `show_parts`, `suggestion_lines`), so
the wording lives here once. Every sentence exists in Chinese and English and
follows the language of the question it answers (`MatchResult.lang`, or the
command's text for `/faq …`).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Optional, Sequence

from bot.knowledge import catalog
from bot.chat.commands import USAGE_EN, USAGE_ZH
from bot.matching.types import Decision, Entry, LANG_EN, MatchResult

from .markdown import CHAT_BODY_CHARS, PlainStyle, Style, render, to_plain

# a query echoed in a "next page" hint keeps only letters, digits and spaces: it cannot ping or inject
_SAFE_WORDS = re.compile(r"[^\W_]+", re.U)


def in_lang(lang: str, zh: str, en: str) -> str:
    """The Chinese or English wording, for the asker's language."""
    return en if lang == LANG_EN else zh


_t = in_lang


def title(entry: Entry, lang: str) -> str:
    """The entry's question in the asker's language (the pack's own when it has no English)."""
    return entry.question_for(lang)


def entry_ref(entry: Entry, lang: str) -> str:
    """Which entry this is: its number and title (what `/faq show <n>` takes)."""
    return f"#{entry.n} {title(entry, lang)}"


def usage_text(lang: Optional[str]) -> str:
    """`/faq help` in the asker's language; both when the language is unknown (a bare `/faq`)."""
    if lang is None:
        return f"{USAGE_EN}\n\n{USAGE_ZH}"
    return _t(lang, USAGE_ZH, USAGE_EN)


# -- answers ----------------------------------------------------------------
def answer_text(entry: Entry, lang: str) -> str:
    """A short answer, the entry it comes from, and where to read more."""
    lines = [entry.answer_for(lang), f"— {entry_ref(entry, lang)}"]
    if entry.url:
        lines.append(_t(lang, f"详见：{entry.url}", f"More: {entry.url}"))
    return "\n".join(lines)


def suggestions_head(lang: str) -> str:
    return _t(lang, "不太确定你问的是哪个，是不是：", "Not sure which one you mean. Did you mean:")


def suggestion_lines(result: MatchResult) -> list[str]:
    return [f"{i}. {title(c.entry, result.lang)}" for i, c in enumerate(result.suggestions, 1)]


def suggestions_text(result: MatchResult) -> str:
    lang = result.lang
    lines = [suggestions_head(lang), *suggestion_lines(result)]
    lines.append(_t(lang, "回复编号查看答案。", "Reply with a number to see that answer."))
    return "\n".join(lines)


def unknown_text(lang: str) -> str:
    return _t(lang, "这个问题我还不会，换个说法试试，或用 /faq list 看看有哪些条目。",
              "I don't know that one yet. Try other words, or /faq list to see what I know.")


def result_text(result: MatchResult) -> str:
    """The reply to a direct question: an answer, candidates, or 'I don't know'."""
    if result.decision is Decision.ANSWER and result.entry:
        return answer_text(result.entry, result.lang)
    if result.decision is Decision.SUGGEST:
        return suggestions_text(result)
    return unknown_text(result.lang)


def pick_range_text(lang: str, count: int) -> str:
    return _t(lang, f"请回复 1–{count} 之间的编号。", f"Please reply with a number from 1 to {count}.")


def missing_entry_text(lang: str) -> str:
    # the key typed is not echoed: nothing a user typed comes back from the bot
    return _t(lang, "没有这个条目，用 /faq list 查看编号。", "No such entry; see /faq list for the numbers.")


# -- /faq show ----------------------------------------------------------------
REPEAT_PROBE_CHARS = 30  # letters: a sentence or so, before any code the answer left out
class _Words(PlainStyle):
    """The prose of a text and nothing else: links as their label, no URL, no code blocks
    (a short answer is written from the prose: an error quoted in a code block does not
    make an answer that starts with that error a repetition)."""

    def link(self, url: str, label: str) -> str:
        return label

    def code_block(self, code: str, info: str) -> list[str]:
        return []


def _squash(markdown: str) -> str:
    """The letters of a markdown text, case-folded: what an answer and a body saying the same
    thing share, whatever their markup, links, list numbers and punctuation."""
    text = unicodedata.normalize("NFKC", render(markdown, _Words())[0]).casefold()
    return "".join(ch for ch in text if ch.isalpha())


def body_repeats_answer(entry: Entry, lang: str) -> bool:
    """True when the body already says the short answer (an imported entry's answer is
    the body's opening), so `/faq show` must not print it twice."""
    if not entry.body:
        return False
    answer = _squash(entry.answer_for(lang).rstrip("…"))
    if not answer:
        return True
    body = _squash(entry.body)
    # its opening is enough: an imported answer joins the first paragraphs and leaves out code between them
    return answer[:REPEAT_PROBE_CHARS] in body


@dataclass(frozen=True)
class ShowParts:
    """`/faq show` in pieces: the platform arranges them."""

    heading: str  # "#9 title" (plain; the platform escapes or links it)
    answer: str  # markdown of the short answer; "" when the body repeats it
    body: str  # the body, rendered in the platform's style and capped
    truncated: bool  # the body was cut: point to the source
    more_label: str  # "全文" / "Full text" when cut, else "来源" / "Source"
    url: str  # the source ("" when the entry has none)
    links: tuple[str, ...]

    @property
    def more(self) -> str:
        """Where to read on, as plain text ("" when there is nothing to point to)."""
        if self.url:
            return f"{self.more_label}: {self.url}"
        return self.more_label if self.truncated else ""


def show_parts(entry: Entry, lang: str, style: Style, limit: int = CHAT_BODY_CHARS) -> ShowParts:
    answer = "" if body_repeats_answer(entry, lang) else entry.answer_for(lang)
    room = max(limit - len(answer), limit // 2)
    body, truncated = render(entry.body, style, entry.url, room) if entry.body else ("", False)
    if truncated:
        label = _t(lang, "全文", "Full text") if entry.url else _t(lang, "（只显示了开头）", "(only the start is shown)")
    else:
        label = _t(lang, "来源", "Source")
    return ShowParts(entry_ref(entry, lang), answer, body, truncated, label, entry.url, tuple(entry.links))


def entry_full_text(entry: Entry, lang: str, limit: int = CHAT_BODY_CHARS) -> str:
    """`/faq show` as plain text: title, short answer, the body rendered and capped, the source."""
    parts = show_parts(entry, lang, PlainStyle(), limit)
    out = [parts.heading]
    if parts.answer:
        out += ["", to_plain(parts.answer, entry.url)]
    if parts.body:
        out += ["", parts.body]
    if parts.truncated:
        out.append("…")
    if parts.more:
        out += ["", parts.more]
    if parts.links and not parts.truncated:
        out += [_t(lang, "相关链接：", "Links:")] + [f"  {u}" for u in parts.links[:5]]
    return "\n".join(out)


# -- /faq list ----------------------------------------------------------------
@dataclass(frozen=True)
class Listing:
    """A reply to `/faq list …`: a heading, lines, and a hint (next page, how to open a section)."""

    heading: str
    lines: tuple[str, ...]
    hint: str = ""
    next_arg: str = ""  # the `/faq list` argument of the next page ("" on the last page)

    def text(self) -> str:
        return "\n".join([self.heading, *self.lines] + ([self.hint] if self.hint else []))


def _both(name: str, name_en: str, lang: str) -> str:
    """A section name in the asker's language, with the other spelling after it so it can be typed either way."""
    if not name_en or name_en == name:
        return name or _t(lang, "（无分类）", "(no section)")
    return f"{name_en} ({name})" if lang == LANG_EN else f"{name}（{name_en}）"


def _outline(entries: Sequence[Entry], lang: str, head: str = "") -> Listing:
    sections = catalog.outline(entries)
    lines = []
    for section in sections:
        count = len(section.entries)
        lines.append(f"• {_both(section.name, section.name_en, lang)} {_t(lang, f'{count} 条', str(count))}")
        lines += [f"    – {_both(t.name, t.name_en, lang)} {len(t.entries)}" for t in section.topics]
    heading = head or _t(lang, f"共 {len(entries)} 条，{len(sections)} 个分类：",
                         f"{len(entries)} entries in {len(sections)} sections:")
    example = _example_topic(sections, lang)
    hint = _t(lang, f"用 /faq list <分类> 查看一类（如 /faq list {example}），/faq list all 列出全部。",
              f"/faq list <section> lists one (e.g. /faq list {example}); /faq list all lists everything.")
    return Listing(heading, tuple(lines), hint)


def _example_topic(sections: Sequence[catalog.Section], lang: str) -> str:
    groups = [t for s in sections for t in s.topics] or list(sections)
    if not groups:
        return _t(lang, "网络", "network")
    name = groups[min(2, len(groups) - 1)].title(lang)
    words = _SAFE_WORDS.findall(name)
    return (words[0].lower() if lang == LANG_EN else name) if words else name


def _page_listing(found: Sequence[Entry], number: int, lang: str, label: str, query_words: str) -> Listing:
    page = catalog.page_of(found, number)
    where = f"“{label}”" if label else _t(lang, "全部", "All")
    if page.pages > 1:
        heading = _t(lang, f"{where}：{page.total} 条，第 {page.number}/{page.pages} 页",
                     f"{where}: {page.total} entries, page {page.number} of {page.pages}")
    else:
        heading = _t(lang, f"{where}：{page.total} 条", f"{where}: {page.total} entries")
    lines = tuple(entry_ref(e, lang) for e in page.entries)
    hint, next_arg = "", ""
    if page.has_next:
        next_arg = f"{query_words} {page.number + 1}".strip()
        hint = _t(lang, f"下一页：/faq list {next_arg}", f"Next page: /faq list {next_arg}")
    return Listing(heading, lines, hint, next_arg)


def listing(entries: Sequence[Entry], arg: str, lang: str) -> Listing:
    """The reply to `/faq list <arg>`: the outline (no argument), one section paged, or everything paged."""
    if not entries:
        return Listing(_t(lang, "没有找到条目。", "No entries found."), ())
    request = catalog.parse_list(arg)
    if request.everything:
        return _page_listing(entries, request.page, lang, "", "all")
    if not request.query:
        return _outline(entries, lang)
    found = catalog.find(entries, request.query)
    if found is None:
        return _outline(entries, lang, _t(lang, "没有找到这个分类。现有分类：", "No section by that name. The sections:"))
    if len(found.groups) == 1:
        words = found.groups[0].title(lang)
    else:
        words = " ".join(_SAFE_WORDS.findall(request.query))[:40]
    return _page_listing(found.entries, request.page, lang, found.title(lang), words)


def entry_list_text(entries: Sequence[Entry], lang: str, arg: str = "") -> str:
    """`/faq list <arg>` as plain text."""
    return listing(entries, arg, lang).text()
