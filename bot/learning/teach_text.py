"""What a taught text keeps, and what teaching says back.

Apart from the `Learner`'s rules (learning.py) because both are about text, not
knowledge: `clean_text` strips platform markup (Slack links and mentions, CQ
codes, mass mentions) so a taught answer never pings anyone when repeated;
`say` holds every acknowledgement in Chinese and English.
"""
from __future__ import annotations

import re

from ..matching.types import LANG_EN

ELLIPSIS = "…"


# -- what text is kept ----------------------------------------------------------

_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^>|\s]{1,2000})(?:\|([^>]{0,500}))?>")
_SLACK_CHANNEL = re.compile(r"<#[A-Z0-9]{1,40}(?:\|([^>]{0,200}))?>")
_SLACK_MARKUP = re.compile(r"<[@!][^>]{0,200}>")  # users, <!here>, <!channel>, <!subteam^S…>, dates
_CQ_CODE = re.compile(r"\[CQ:[^\]]{0,2000}\]")
_MASS_MENTION = re.compile(r"(?<![\w.])[@＠](?:all|everyone|here|channel|全体成员|所有人)(?![\w])", re.I)
_ENTITIES = (("&#91;", "["), ("&#93;", "]"), ("&#44;", ","), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_BLANKS = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _strip_markup(text: str) -> str:
    text = _CQ_CODE.sub(" ", text)
    text = _SLACK_LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    text = _SLACK_CHANNEL.sub(lambda m: f"#{m.group(1)}" if m.group(1) else " ", text)
    text = _SLACK_MARKUP.sub(" ", text)
    return _MASS_MENTION.sub(" ", text)


def clean_text(text: str, max_chars: int) -> str:
    """Text as it may be stored and posted again: no mass mentions, no platform markup, capped.

    Markup is stripped again after unescaping, so an escaped `&lt;!channel&gt;`
    cannot turn into a live mention when the bot repeats it.
    """
    text = _strip_markup((text or "")[: max_chars * 4 + 4000])
    for _ in range(2):  # twice: a double-escaped `&amp;#91;CQ:at,qq=all&amp;#93;` is a code too
        for entity, char in _ENTITIES:
            text = text.replace(entity, char)
    text = _strip_markup(_CONTROL.sub(" ", text.replace("\r\n", "\n")))
    lines = [_BLANKS.sub(" ", line).strip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if len(text) > max_chars:
        text = text[: max(max_chars - 1, 0)].rstrip() + ELLIPSIS
    return text


# -- acknowledgements ----------------------------------------------------------------

# name: (zh, en); a message names the entry by its number and id so it can be shown or forgotten
_MESSAGES = {
    "created": ("学会了 #{n}（{id}）：{question}", "Learned #{n} ({id}): {question}"),
    "duplicate_alias": ("已有答案 #{n}（{id}），已加为它的另一种问法，没有新建条目", "Already answered by #{n} ({id}): added as another phrasing of it, not a new entry"),
    "alias": ("已把这个问法加到 #{n}（{id}）", "Added this phrasing to #{n} ({id})"),
    "known_phrasing": ("#{n}（{id}）已经能回答这个问题，无需再学", "#{n} ({id}) already answers this question; nothing to learn"),
    "alias_rejected": ("这个问题之前被标记为不该用 #{n} 回答；请先撤销那次标记", "This question was marked as not answered by #{n}; undo that first"),
    "rejected": ("记下了：这个问题不再用 #{n}（{id}）回答", "Noted: this question will no longer get #{n} ({id})"),
    "already_rejected": ("这个问题已标记为不用 #{n} 回答", "This question is already marked as not answered by #{n}"),
    "undone": ("已撤销", "Undone"),
    "nothing_to_undo": ("没有可撤销的操作", "Nothing to undo"),
    "forgotten": ("已删除学到的条目 #{n}（{id}）", "Forgot learned entry #{n} ({id})"),
    "not_learned": ("#{key} 不是学到的条目", "There is no learned entry {key}"),
    "pack_entry": ("#{n}（{id}）来自知识包，不能在聊天里删除；请在 git 里改知识包", "#{n} ({id}) is from the knowledge pack: change the pack in git"),
    "no_entry": ("没有条目 {key}", "There is no entry {key}"),
    "duplicate_event": ("已经处理过了", "Already done"),
    "not_maintainer": ("只有维护者可以教机器人", "Only maintainers can teach the bot"),
    "no_answer": ("这个帖子还没有回答；请在回答上点表情", "This question has no answer yet: react to the answer instead"),
    "no_question": ("找不到对应的问题；请在回复问题的那条消息上操作", "No question found: use it on a reply to the question"),
    "empty": ("去掉提及和格式后没有剩下文字，没学", "Nothing left after removing mentions and markup; not learned"),
    "failed": ("保存失败，什么都没学到；请稍后再试", "Could not save; nothing was learned. Try again later"),
}


def say(name: str, lang: str, **values: object) -> str:
    zh, en = _MESSAGES[name]
    return (en if lang == LANG_EN else zh).format(**values)
