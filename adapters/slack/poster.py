"""Every Slack call goes through here: a failing call is logged and reported
as a value, never raised into a listener (a Slack outage must not take the
bot down, and the caller still logs the message as not replied). A 429 has
already been retried after Retry-After by the client's retry handler."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Optional

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from .blocks import SlackMessage

log = logging.getLogger("faqbot.slack")

# chat.postEphemeral cannot reach users in channels the bot is not in; the
# slash command's response_url can.
NOT_A_MEMBER = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel"})
CHECK_MARK = "white_check_mark"


@dataclass(frozen=True)
class Posted:
    ok: bool
    ts: str = ""
    error: str = ""
    data: dict = field(default_factory=dict, compare=False, repr=False)  # the Web API's answer


def call(what: str, fn: Callable[[], object], fine: frozenset[str] = frozenset()) -> Posted:
    """Run one Web API call; `fine` names errors that mean the call's goal already holds."""
    try:
        response = fn()
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        if error in fine:
            return Posted(True, error=error)
        log.warning("slack %s failed: %s", what, error or exc)
        return Posted(False, error=error or "api_error")
    except (SlackClientError, OSError, ValueError) as exc:
        # connection refused/reset, timeouts, malformed responses
        log.warning("slack %s failed: %s: %s", what, type(exc).__name__, exc)
        return Posted(False, error=type(exc).__name__)
    status = getattr(response, "status_code", 200)
    if status >= 400:
        log.warning("slack %s failed: HTTP %s", what, status)
        return Posted(False, error=f"http_{status}")
    data = getattr(response, "data", None)
    data = data if isinstance(data, dict) else {}
    return Posted(True, ts=str(data.get("ts") or data.get("message_ts") or ""), data=data)


class Poster:
    def __init__(self, client: WebClient):
        self.client = client

    def post(self, channel: str, message: SlackMessage, thread_ts: str = "") -> Posted:
        kwargs = {"channel": channel, **message.as_kwargs(), "unfurl_links": False, "unfurl_media": False}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        return call("chat.postMessage", lambda: self.client.chat_postMessage(**kwargs))

    def ephemeral(self, channel: str, user: str, message: SlackMessage, thread_ts: str = "", response_url: str = "") -> Posted:
        """Only `user` sees it. Falls back to the response_url where the bot is not a member."""
        kwargs = {"channel": channel, "user": user, **message.as_kwargs()}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        posted = call("chat.postEphemeral", lambda: self.client.chat_postEphemeral(**kwargs))
        if not posted.ok and posted.error in NOT_A_MEMBER and response_url:
            return self.respond(response_url, message)
        return posted

    def respond(
        self, response_url: str, message: Optional[SlackMessage] = None, *, replace: bool = False, delete: bool = False
    ) -> Posted:
        """Answer through an interaction's response_url (ephemeral unless told otherwise)."""
        body: dict = {"delete_original": True} if delete else {"response_type": "ephemeral", **(message.as_kwargs() if message else {})}
        if not delete:
            # spelled out: without it Slack may replace the message the button was on
            body["replace_original"] = replace
        hook = WebhookClient(response_url, timeout=10, proxy=self.client.proxy, ssl=self.client.ssl)
        return call("response_url", lambda: hook.send_dict(body))

    def update(self, channel: str, ts: str, message: SlackMessage) -> Posted:
        return call("chat.update", lambda: self.client.chat_update(channel=channel, ts=ts, **message.as_kwargs()))

    def react(self, channel: str, ts: str, name: str = CHECK_MARK) -> Posted:
        """Add the bot's reaction; one that is already there counts as added."""
        return call(
            "reactions.add", lambda: self.client.reactions_add(channel=channel, timestamp=ts, name=name),
            fine=frozenset({"already_reacted"}),
        )

    def unreact(self, channel: str, ts: str, name: str = CHECK_MARK) -> Posted:
        return call(
            "reactions.remove", lambda: self.client.reactions_remove(channel=channel, timestamp=ts, name=name),
            fine=frozenset({"no_reaction", "message_not_found"}),
        )

    def permalink(self, channel: str, ts: str) -> str:
        """The message's permalink, or "" when Slack will not say (a source without a link is still a source)."""
        got = call("chat.getPermalink", lambda: self.client.chat_getPermalink(channel=channel, message_ts=ts))
        link = got.data.get("permalink") if got.ok else ""
        return link if isinstance(link, str) else ""
