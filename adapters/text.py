"""Plain-text rendering shared by the adapters whose platforms show plain text
(console, QQ). Pure functions of engine values; no platform imports."""
from __future__ import annotations

from bot.types import Decision, Entry, MatchResult, LANG_EN

MAX_LIST_LINES = 40


def _t(lang: str, zh: str, en: str) -> str:
    return en if lang == LANG_EN else zh


def answer_text(entry: Entry, lang: str) -> str:
    lines = [entry.answer_for(lang)]
    if entry.url:
        lines.append(_t(lang, f"详见：{entry.url}", f"More: {entry.url}"))
    return "\n".join(lines)


def suggestions_text(result: MatchResult) -> str:
    lang = result.lang
    lines = [_t(lang, "不太确定你问的是哪个，是不是：", "Not sure which one you mean. Did you mean:")]
    for i, cand in enumerate(result.suggestions, 1):
        lines.append(f"{i}. {cand.entry.question}")
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


def entry_full_text(entry: Entry, lang: str) -> str:
    parts = [f"#{entry.n} {entry.question}", "", entry.answer_for(lang)]
    if entry.body:
        parts += ["", entry.body]
    if entry.links:
        parts += [""] + list(entry.links)
    if entry.url:
        parts += ["", entry.url]
    return "\n".join(parts)


def entry_list_text(entries: list[Entry], lang: str) -> str:
    if not entries:
        return _t(lang, "没有找到条目。", "No entries found.")
    lines = [f"#{e.n} {e.question}" for e in entries[:MAX_LIST_LINES]]
    if len(entries) > MAX_LIST_LINES:
        more = len(entries) - MAX_LIST_LINES
        lines.append(_t(lang, f"……还有 {more} 条，用 /faq list <分类> 缩小范围。", f"…and {more} more; narrow it with /faq list <section>."))
    return "\n".join(lines)
