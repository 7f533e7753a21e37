"""The slack-bolt App: which listener handles what, and how requests are acked.

Every listener is registered as ack + lazy work: the ack runs inline in the
request (HTTP response or Socket Mode envelope ack), the work runs on the
executor afterwards. So an ack never waits for the engine, Slack's Web API or
a busy thread pool, and Slack's 3-second limit holds under load.
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient

from bot.learning import FeedbackStore
from bot.ops import BotContext
from bot.store import EventClaims

from .ambient import AmbientGate
from .answers import AnswerLog
from .blocks import MORE, NONE_OF_THESE, PICK_PREFIX, SHARE, VOTE_DOWN, VOTE_UP
from .dedupe import new_memory, retry_filter
from .executor import DrainableExecutor
from .listeners import SlackBot
from .maintainers import MaintainerDirectory
from .poster import Poster
from .teach import SlackTeacher
from .threads import ThreadReader

log = logging.getLogger("faqbot.slack")

COMMAND = "/faq"
DEFAULT_WORKERS = 8


@dataclass
class SlackApp:
    app: App
    bot: SlackBot
    executor: DrainableExecutor


def _ack(ack: Callable[[], Any]) -> None:
    ack()


class _GivenClientFilter(logging.Filter):
    """Drops Bolt's "`token` will be unused" warning. The App is handed a client on purpose
    (its base URL may point at a mock Slack), and Bolt still reads SLACK_BOT_TOKEN from the
    environment, then warns on every start that it ignores it. That message is noise here."""

    MESSAGE = warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.MESSAGE


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("faqbot.slack.bolt")
    if not any(isinstance(f, _GivenClientFilter) for f in logger.filters):
        logger.addFilter(_GivenClientFilter())
    return logger


def _guarded(handler: Callable[..., None]) -> Callable[..., None]:
    """A listener that logs its failure with a traceback instead of Bolt's one-liner."""

    @functools.wraps(handler)  # Bolt injects arguments by the wrapped handler's parameter names
    def run(**kwargs: Any) -> None:
        try:
            handler(**kwargs)
        except Exception:
            log.exception("slack listener %s failed", handler.__name__)

    return run


def build_app(
    ctx: BotContext,
    client: WebClient,
    *,
    signing_secret: str = "",
    feedback: Optional[FeedbackStore] = None,
    workers: int = DEFAULT_WORKERS,
) -> SlackApp:
    """The Bolt App over `client` (whose base URL may point at a mock Slack).

    `signing_secret` is required for HTTP mode (Bolt answers 401 to a bad
    signature); Socket Mode requests are not signed and skip that check.
    """
    slack = ctx.config.slack
    executor = DrainableExecutor(max(workers, 1))
    seen = new_memory()
    poster = Poster(client)
    answers = AnswerLog()
    teacher = SlackTeacher(ctx, poster, ThreadReader(client), MaintainerDirectory(client, ctx.config.maintainers), answers)
    bot = SlackBot(
        ctx,
        poster,
        feedback or FeedbackStore.for_context(ctx),
        AmbientGate(slack.ambient_channels, slack.rate_limit),
        seen,
        answers,
        teacher,
    )
    app = AckingApp(
        client=client,
        signing_secret=signing_secret,
        # auth.test runs on the first request (and the service checks the token
        # at start), so building the App does no network I/O
        token_verification_enabled=False,
        process_before_response=True,
        listener_executor=executor,
        logger=_bolt_logger(),
        name="faqbot",
    )
    app.use(retry_filter(seen, ctx.metrics, EventClaims.for_context(ctx)))
    names = ("on_mention", "on_message", "on_reaction", "on_command", "on_vote", "on_pick", "on_share", "on_more", "on_none_of_these")
    lazy = {name: _guarded(getattr(bot, name)) for name in names}
    app.event("app_mention")(ack=_ack, lazy=[lazy["on_mention"]])
    app.event("message")(ack=_ack, lazy=[lazy["on_message"]])
    app.event("reaction_added")(ack=_ack, lazy=[lazy["on_reaction"]])
    app.event("reaction_removed")(ack=_ack, lazy=[lazy["on_reaction"]])
    app.command(COMMAND)(ack=_ack, lazy=[lazy["on_command"]])
    app.action(VOTE_UP)(ack=_ack, lazy=[lazy["on_vote"]])
    app.action(VOTE_DOWN)(ack=_ack, lazy=[lazy["on_vote"]])
    app.action(re.compile(rf"^{PICK_PREFIX}\d+$"))(ack=_ack, lazy=[lazy["on_pick"]])
    app.action(NONE_OF_THESE)(ack=_ack, lazy=[lazy["on_none_of_these"]])
    app.action(SHARE)(ack=_ack, lazy=[lazy["on_share"]])
    app.action(MORE)(ack=_ack, lazy=[lazy["on_more"]])
    return SlackApp(app, bot, executor)


class AckingApp(App):
    """The Bolt App, acknowledging (and ignoring) every authentic request no listener
    took: another app's button, an event beyond the manifest (member_joined_channel,
    app_home_opened), a shortcut, a view. Bolt's own answer is a 404 with a warning
    (several lines) per request, and Socket Mode never acks a 404: Slack shows the user
    an error and redelivers. Here: 200, and one debug line."""

    def _handle_unmatched_requests(self, req: BoltRequest, resp: BoltResponse) -> BoltResponse:
        body = req.body if isinstance(req.body, dict) else {}
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        kind = event.get("type") or body.get("type") or body.get("command") or "?"
        log.debug("slack: acked and ignored a request no listener handles (%.60s)", str(kind))
        return BoltResponse(status=200, body="")
