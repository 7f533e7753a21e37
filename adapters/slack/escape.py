"""Text crossing the Slack boundary, both ways. Pure functions.

Incoming: Slack sends message text with its own markup (`<@U123>`, `<!here>`,
`<https://x|label>`, `&lt;`); `to_plain` turns it into what the user typed, so
the engine matches words, not markup.

Outgoing: everything the bot posts is mrkdwn, where `<…>` is live markup: a
`<!channel>` in an echoed query or a learned answer would ping the whole
channel. `inert` escapes `& < >` (Slack's own rule) and also defuses a bare
`@here`/`@channel`/`@everyone`, so no text the bot repeats can notify anyone.
`markdown_to_mrkdwn` renders a pack's markdown; the only markup it creates is
`<url|label>` for http(s) links, built after escaping.
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


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[*+-]\s+")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)<>|]+)\)")
_INLINE_CODE = re.compile(r"(`[^`\n]+`)")


def _inline(text: str) -> str:
    """Bold and links in one escaped line, leaving `code spans` untouched."""
    spans: list[str] = []

    def park(match: re.Match) -> str:
        # NUL cannot occur here (escape() removed control characters), so it marks a parked span
        spans.append(match.group(1))
        return f"\x00{len(spans) - 1}\x00"

    text = _INLINE_CODE.sub(park, text)
    text = _BOLD.sub(lambda m: f"*{m.group(1) or m.group(2)}*", text)
    text = _MD_LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1).replace('|', '¦')}>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)


def markdown_to_mrkdwn(text: str) -> str:
    """A pack's markdown as Slack mrkdwn, inert except for http(s) links."""
    out: list[str] = []
    in_fence = False
    # escape first: every `<` that survives below was put there by the link rule
    for line in inert(text).splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            out.append("```")
            continue
        if in_fence:
            out.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            out.append(f"*{_inline(heading.group(1))}*")
            continue
        line = _BULLET.sub(lambda m: m.group(1) + "• ", line)
        out.append(_inline(line))
    if in_fence:
        out.append("```")
    return "\n".join(out)


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
