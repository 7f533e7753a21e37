"""Slack's spelling of a rendered markdown body (see bot/chat/markdown.py).

Every piece of text goes through `inert`, so a body can neither ping nor
inject markup; the only `<…>` this creates is `<url|label>` for http(s) links
(`escape.link`). Headings become bold lines, fences stay ``` blocks, lists get
bullets, quotes Slack's `>`.
"""
from __future__ import annotations

from bot.chat import Block, render, render_blocks

from .escape import inert, link


class MrkdwnStyle:
    quote = "&gt; "  # Slack reads an escaped > at a line start as a quote, like the > its clients send
    bullet = "• "

    def text(self, text: str) -> str:
        # stray backticks left as text (unpaired) would open a code block in Slack
        return inert(text).replace("`", "ˋ")

    def code(self, text: str) -> str:
        return f"`{inert(text).replace('`', 'ˋ')}`"

    def strong(self, inner: str) -> str:
        return f"*{inner}*" if inner.strip() else inner

    def em(self, inner: str) -> str:
        return f"_{inner}_" if inner.strip() else inner

    def link(self, url: str, label: str) -> str:
        label = label.strip() or url
        return link(url, label) if url else inert(label)

    def heading(self, plain: str) -> str:
        return f"*{inert(plain)}*"

    def code_block(self, code: str, info: str) -> list[str]:
        # a ``` inside the code would end Slack's block early
        return ["```", *inert(code.rstrip("\n")).replace("```", "ˋˋˋ").split("\n"), "```"]


STYLE = MrkdwnStyle()


def mrkdwn_blocks(markdown: str, base_url: str = "") -> list[Block]:
    return render_blocks(markdown, STYLE, base_url)


def to_mrkdwn(markdown: str, base_url: str = "", limit: int = 0) -> tuple[str, bool]:
    """The body as mrkdwn, at most about `limit` characters (0: all), and whether it was cut."""
    return render(markdown, STYLE, base_url, limit)
