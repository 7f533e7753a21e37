"""Text crossing the Slack boundary, both ways. Pure functions.

Incoming: Slack sends message text with its own markup (`<@U123>`, `<!here>`,
`<https://x|label>`, `&lt;`); `to_plain` turns it into what the user typed, so
the engine matches words, not markup.

Outgoing: everything the bot posts is mrkdwn, where `<…>` is live markup: a
`<!channel>` in an echoed query or a learned answer would ping the whole
channel. `inert` escapes `& < >` (Slack's own rule) and also defuses a bare
`@here`/`@channel`/`@everyone`, so no text the bot repeats can notify anyone.
`markdown_to_mrkdwn` renders a pack's markdown (mrkdwn.py, with markdown-it-py);
the only markup it creates is `<url|label>` for http(s) links, built with `link`.
"""
from __future__ import annotations

import re
from typing import Optional

# One Slack markup token: <@U…>, <#C…|name>, <!here>, <!subteam^S…|@team>, <http…|label>
_TOKEN = re.compile(r"<([^<>\n]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.I)
# Invisible, and breaks Slack's recognition of @here/@channel in plain text.
WORD_JOINER = "\u2060"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SAFE_URL = re.compile(r"https?://[^\s<>|\"']+\Z")


def _token_text(inner: str, bot_user_id: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        if bot_user_id and target[1:] == bot_user_id:
            return ""
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        if label:
            return label
        # <!subteam^S123> without a label; <!here>, <!channel>, <!everyone>
        return "@" + target[1:].split("^", 1)[0]
    return label or target


def to_plain(text: str, bot_user_id: str = "") -> str:
    """What the user typed, from Slack's message text. The bot's own mention is dropped."""
    plain = _TOKEN.sub(lambda m: _token_text(m.group(1), bot_user_id), text or "")
    for entity, char in _ENTITIES:
        plain = plain.replace(entity, char)
    return " ".join(plain.split())


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: `& < >` become entities; control characters go."""
    text = _CONTROL.sub("", text or "")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inert(text: str) -> str:
    """Text that shows as typed and can neither ping nor link: for every echo."""
    return _BROADCAST.sub("@" + WORD_JOINER, escape(text))


def safe_url(url: str) -> Optional[str]:
    """An http(s) URL fit to put inside `<…>`, escaped; None for anything else."""
    url = (url or "").strip()
    return escape(url) if _SAFE_URL.match(url) else None


def link(url: str, label: str) -> str:
    """A mrkdwn link when the URL is safe, else the inert label alone."""
    target = safe_url(url)
    text = inert(label).replace("|", "¦")
    return f"<{target}|{text}>" if target else text


def markdown_to_mrkdwn(text: str) -> str:
    """A pack's markdown as Slack mrkdwn, inert except for http(s) links (parsed by
    markdown-it-py: see adapters/slack/mrkdwn.py, which builds on `inert` and `link`)."""
    from .mrkdwn import to_mrkdwn  # mrkdwn imports this module

    return to_mrkdwn(text)[0]


def fit(text: str, limit: int) -> str:
    """At most `limit` characters, cut with an ellipsis and never inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    cut = re.sub(r"&[a-z]{0,4}\Z", "", cut)
    # a cut inside <url|label> would leave the link open; drop the partial link
    open_at = cut.rfind("<")
    if open_at > cut.rfind(">"):
        cut = cut[:open_at]
    return cut + "…"
