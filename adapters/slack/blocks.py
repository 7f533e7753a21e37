"""Block Kit rendering of engine values. Pure: engine values in, SlackMessage out.

Every user-visible string goes through `escape.inert` (or `mrkdwn.to_mrkdwn`,
which starts with it), so nothing rendered here can ping or inject markup.
Buttons carry an ActionValue (entry id, query, language, score) so a click can
be handled without any server-side state, even after a restart.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional, Sequence

from bot.chat import (
    entry_ref, listing, show_parts, suggestion_lines, suggestions_head, title, unknown_text, usage_text,
)
from bot.matching import LANG_EN, Decision, Entry, MatchResult

from .escape import fit, inert, link
from .mrkdwn import STYLE, to_mrkdwn

# Block Kit limits (api.slack.com/reference/block-kit): we stay under them.
SECTION_CHARS = 2900
BUTTON_LABEL_CHARS = 75
FALLBACK_CHARS = 3000
QUERY_IN_VALUE_CHARS = 300  # a button value holds at most 2000 characters
MAX_BLOCKS = 50

VOTE_UP = "faq_vote_up"
VOTE_DOWN = "faq_vote_down"
SHARE = "faq_share"
MORE = "faq_more"
NONE_OF_THESE = "faq_none"  # under a "did you mean" list: the question is not any of them
USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}\Z")  # only a real user id may become a <@…> mention
PICK_PREFIX = "faq_pick_"  # faq_pick_1 … faq_pick_N: action ids must be unique in a message


@dataclass(frozen=True)
class SlackMessage:
    """What to post: the notification/fallback text and the blocks."""

    text: str
    blocks: tuple[dict, ...] = ()

    def as_kwargs(self) -> dict:
        return {"text": self.text, "blocks": list(self.blocks)}


@dataclass(frozen=True)
class ActionValue:
    """What a button needs to know about the answer it belongs to."""

    entry_id: str
    query: str = ""
    lang: str = "zh"
    score: float = 0.0

    def encode(self) -> str:
        return json.dumps(
            {"e": self.entry_id, "q": self.query[:QUERY_IN_VALUE_CHARS], "l": self.lang, "s": round(self.score, 3)},
            ensure_ascii=False, separators=(",", ":"),
        )

    @classmethod
    def decode(cls, raw: object) -> Optional["ActionValue"]:
        """None for anything a button of ours could not have sent."""
        if not isinstance(raw, str):
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("e"), str) or not data["e"]:
            return None
        score = data.get("s", 0.0)
        return cls(
            entry_id=data["e"],
            query=str(data.get("q", ""))[:QUERY_IN_VALUE_CHARS],
            lang=LANG_EN if data.get("l") == LANG_EN else "zh",
            score=float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else 0.0,
        )


def _t(lang: str, zh: str, en: str) -> str:
    return en if lang == LANG_EN else zh


def _section(mrkdwn: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(mrkdwn, SECTION_CHARS)}}


def _context(*mrkdwn: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(t, SECTION_CHARS)} for t in mrkdwn if t]}


def _button(action_id: str, label: str, value: str = "", style: str = "") -> dict:
    button = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": fit(label, BUTTON_LABEL_CHARS), "emoji": True}}
    if value:
        button["value"] = value
    if style:
        button["style"] = style
    return button


def _actions(*buttons: dict) -> dict:
    return {"type": "actions", "elements": list(buttons)}


def _sections(mrkdwn: str) -> list[dict]:
    """Long text as several sections, split at line ends (a section holds ~3000 characters)."""
    chunks: list[str] = []
    current = ""
    for line in mrkdwn.splitlines():
        if current and len(current) + 1 + len(line) > SECTION_CHARS:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current.strip():
        chunks.append(current)
    return [_section(chunk) for chunk in chunks]


def _plain_fallback(text: str) -> str:
    return fit(inert(text), FALLBACK_CHARS)


def _title(entry: Entry, lang: str) -> str:
    return entry_ref(entry, lang)


def percent(score: float) -> str:
    return f"{round(max(0.0, min(score, 1.0)) * 100)}%"


def _vote_buttons(value: ActionValue) -> list[dict]:
    raw = value.encode()
    return [
        _button(VOTE_UP, _t(value.lang, "👍 有用", "👍 Helpful"), raw),
        _button(VOTE_DOWN, _t(value.lang, "👎 没用", "👎 Not helpful"), raw),
    ]


def answer_message(
    entry: Entry,
    value: ActionValue,
    *,
    shareable: bool = False,
    shared_by: str = "",
    echo_query: bool = False,
) -> SlackMessage:
    """A short answer, the link to the entry, a context line and the buttons.

    shareable: an ephemeral answer gets "Share in channel"; shared_by: the
    Slack user id who shared it; echo_query: show what was asked (for answers
    that are not posted under the question itself).
    """
    lang = value.lang
    answer = entry.answer_for(lang)
    blocks: list[dict] = []
    if shared_by and USER_ID.match(shared_by):
        blocks.append(_context(_t(lang, f"<@{shared_by}> 分享了一个回答", f"<@{shared_by}> shared an answer")))
    if echo_query and value.query:
        blocks.append(_context(_t(lang, "问：", "Q: ") + inert(value.query)))
    blocks.append(_section(to_mrkdwn(answer)[0]))
    meta = [f"📖 {link(entry.url, _title(entry, lang))}"]
    if value.score > 0:
        meta.append(_t(lang, f"匹配度 {percent(value.score)}", f"{percent(value.score)} match"))
    blocks.append(_context(" · ".join(meta)))
    buttons = _vote_buttons(value) + [_button(MORE, _t(lang, "详细", "More"), value.encode())]
    if shareable:
        buttons.append(_button(SHARE, _t(lang, "发到频道", "Share in channel"), value.encode(), style="primary"))
    blocks.append(_actions(*buttons))
    return SlackMessage(_plain_fallback(answer), tuple(blocks))


def suggestions_message(result: MatchResult) -> SlackMessage:
    """ "Did you mean": one button per candidate; a click posts that answer."""
    lang = result.lang
    head = suggestions_head(lang)
    buttons = []
    lines = [head, *suggestion_lines(result)]
    for i, cand in enumerate(result.suggestions, 1):
        value = ActionValue(cand.entry.id, result.query, lang, cand.score)
        buttons.append(_button(f"{PICK_PREFIX}{i}", f"{i}. {title(cand.entry, lang)}", value.encode()))
    if buttons:
        # every listed entry, so a click says "not this one" of each (entry ids hold no comma)
        listed = ActionValue(",".join(c.entry.id for c in result.suggestions), result.query, lang)
        buttons.append(_button(NONE_OF_THESE, _t(lang, "都不是", "None of these"), listed.encode()))
    blocks = [_section(inert(head))]
    if buttons:
        blocks.append(_actions(*buttons))
    return SlackMessage(_plain_fallback("\n".join(lines)), tuple(blocks))


def unknown_message(lang: str) -> SlackMessage:
    text = unknown_text(lang)
    return SlackMessage(_plain_fallback(text), (_section(inert(text)),))


def result_message(result: MatchResult, *, shareable: bool = False, echo_query: bool = False) -> SlackMessage:
    """The reply to a direct question: an answer, candidates, or a brief "I don't know"."""
    if result.decision is Decision.ANSWER and result.entry is not None:
        value = ActionValue(result.entry.id, result.query, result.lang, result.score)
        return answer_message(result.entry, value, shareable=shareable, echo_query=echo_query)
    if result.decision is Decision.SUGGEST and result.suggestions:
        return suggestions_message(result)
    return unknown_message(result.lang)


def entry_message(entry: Entry, value: ActionValue, *, shareable: bool = False) -> SlackMessage:
    """The full entry (`/faq show`, the "More" button): the short answer (unless the body
    repeats it), the body rendered as mrkdwn and capped, a link to the source for the rest."""
    lang = value.lang
    parts = show_parts(entry, lang, STYLE)
    blocks: list[dict] = [_section(f"*{link(entry.url, parts.heading)}*")]
    if parts.answer:
        blocks += _sections(to_mrkdwn(parts.answer, entry.url)[0])
    if parts.body:
        blocks.append({"type": "divider"})
        blocks += _sections(parts.body + ("\n…" if parts.truncated else ""))
    notes = []
    if parts.url:
        notes.append(f"📖 {link(parts.url, parts.more_label)}")
    elif parts.more:
        notes.append(inert(parts.more))
    if parts.links and not parts.truncated:
        notes += [link(u, u) for u in parts.links[:9]]
    if notes:
        blocks.append(_context(*notes))
    buttons = _vote_buttons(value)
    if shareable:
        buttons.append(_button(SHARE, _t(lang, "发到频道", "Share in channel"), value.encode(), style="primary"))
    # keep the buttons even when a long body would push past the block limit
    blocks = blocks[: MAX_BLOCKS - 1] + [_actions(*buttons)]
    return SlackMessage(_plain_fallback(f"{parts.heading}\n{entry.answer_for(lang)}"), tuple(blocks))


def list_message(entries: Sequence[Entry], lang: str, arg: str = "") -> SlackMessage:
    """`/faq list [section] [page]`: the outline of sections, or one page of entries with a next-page hint."""
    shown = listing(entries, arg, lang)
    blocks = [_context(inert(shown.heading))] + _sections(inert("\n".join(shown.lines)))
    if shown.hint:
        blocks.append(_context(inert(shown.hint)))
    return SlackMessage(_plain_fallback(shown.text()), tuple(blocks[:MAX_BLOCKS]))


def usage_message(lang: Optional[str] = None) -> SlackMessage:
    """Usage in the asker's language; both languages when we cannot tell."""
    text = usage_text(lang)
    return SlackMessage(_plain_fallback(text), (_section(f"```{inert(text)}```"),))


def notice_message(text: str) -> SlackMessage:
    """A one-line note (thanks, errors); the text is made inert like everything else."""
    return SlackMessage(_plain_fallback(text), (_section(inert(text)),))


def none_of_these_text(lang: str) -> str:
    return _t(lang, "好的，已记下：这些都不是你要找的。维护者会看到这个问题。", "Noted: none of these answers it. The maintainers will see this question.")


def thanks_text(lang: str, up: bool) -> str:
    if up:
        return _t(lang, "谢谢反馈！👍", "Thanks for the feedback! 👍")
    return _t(lang, "谢谢反馈，维护者会看看这条回答哪里不对。", "Thanks, the maintainers will look at what is wrong with this answer.")


def missing_entry_text(lang: str, key: str) -> str:
    return _t(lang, f"没有找到条目 {key}，用 /faq list 看看有哪些。", f"No entry {key}. Try /faq list.")


def cannot_post_text(lang: str) -> str:
    return _t(lang, "我没法在这个频道发消息，先用 /invite 把我拉进来吧。", "I can't post in this channel; /invite me first.")


def teaching_text(lang: str) -> str:
    """When the process runs without a learner (no data directory for learned knowledge)."""
    return _t(lang, "在 Slack 里还不能这样教我，请联系维护者。", "Teaching the bot from Slack is not available yet; ask a maintainer.")


def answer_value(blocks: Sequence[dict]) -> Optional[ActionValue]:
    """The ActionValue an answer's buttons carry: which entry answered what, read back from
    the message itself when the adapter's own record of it is gone (a restart)."""
    for block in blocks:
        elements = block.get("elements") if block.get("type") == "actions" else None
        for element in elements if isinstance(elements, list) else ():
            value = ActionValue.decode(element.get("value")) if isinstance(element, dict) else None
            if value is not None:
                return value
    return None


def withdrawn_message(lang: str) -> SlackMessage:
    """What a wrong answer becomes: a short note in its place, no buttons, nobody named."""
    text = _t(lang, "🚫 这个回答已撤回：维护者标记它答非所问。", "🚫 Answer withdrawn: a maintainer marked it as not answering this question.")
    return SlackMessage(_plain_fallback(text), (_context(inert(text)),))


def try_again_text() -> str:
    # nothing of the message could be read, so its language is unknown: both
    return "暂时读不到这条消息，什么都没学；请稍后再试。\nCould not read that message from Slack, so nothing was learned; try again in a moment."


def message_gone_text() -> str:
    return "找不到这条消息了（可能已被删除）。\nThat message is gone (deleted?), so there is nothing to learn from it."


def not_an_answer_text(lang: str) -> str:
    return _t(
        lang,
        "这条消息不是一个确定的回答，不能用来确认或否定；请在回答消息上操作。",
        "That message is not an answer of mine, so it cannot be confirmed or marked wrong.",
    )


def add_usage_text(lang: str) -> str:
    return _t(lang, "用法：/faq add 问题 | 回答（/faq add! … 即使已有相似条目也新建）", "Usage: /faq add question | answer (/faq add! … makes a new entry even when one matches)")
