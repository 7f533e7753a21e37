"""`faqbot slack`: the Slack adapter as a Service (start/stop).

Socket Mode (default): slack_bolt's SocketModeHandler on slack_sdk's built-in
client, which gets its websocket URL from `apps.connections.open` through the
same WebClient as everything else, so it runs behind NAT and against a mock
Slack alike. HTTP mode: SlackHttpServer on slack.host:slack.port, path
/slack/events.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Optional

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.learning import FeedbackStore, Learner
from bot.ops import BotContext, ConfigError
from bot.store import StoreError

from .app import SlackApp, build_app
from .http_server import SlackHttpServer
from .settings import SlackSettings, web_client

log = logging.getLogger("faqbot.slack")


class SlackService:
    name = "slack"

    def __init__(self, ctx: BotContext, settings: SlackSettings, feedback: Optional[FeedbackStore] = None):
        self.ctx = ctx
        self.settings = settings
        self.client = web_client(settings)
        self.slack: SlackApp = build_app(
            ctx, self.client, signing_secret=settings.signing_secret, feedback=feedback, workers=settings.workers
        )
        self._http: Optional[SlackHttpServer] = None
        self._socket: Optional[SocketModeHandler] = None
        self.closed = threading.Event()  # set once stop() no longer takes events

    @property
    def port(self) -> int:
        """The HTTP port actually bound (useful with port 0)."""
        return self._http.port if self._http else 0

    def connected(self) -> bool:
        """Whether Slack can reach the bot right now (for /healthz): the HTTP server is
        listening, or the Socket Mode connection is open."""
        if self._http is not None:
            return True
        return self._socket is not None and self._socket.client.is_connected()

    def _check_token(self) -> None:
        """Fail at start, with the reason, rather than on the first message."""
        try:
            identity = self.client.auth_test()
        except SlackApiError as exc:
            raise ConfigError("SLACK_BOT_TOKEN", f"Slack refused it: {exc.response.get('error', exc)}") from exc
        except (SlackClientError, OSError) as exc:
            raise ConfigError("SLACK_API_URL", f"cannot reach Slack at {self.settings.api_url}: {exc}") from exc
        log.info("slack: signed in as %s (%s) in %s", identity.get("user"), identity.get("user_id"), identity.get("team"))

    def start(self) -> None:
        self._check_token()
        if self.settings.mode == "http":
            self._http = SlackHttpServer(self.slack.app, self.settings.host, self.settings.port, self.settings.signing_secret)
            self._http.start()
            log.info("slack: HTTP mode, events at http://%s:%d/slack/events", self.settings.host, self.port)
            return
        self._socket = SocketModeHandler(
            self.slack.app, app_token=self.settings.app_token, web_client=self.client, logger=logging.getLogger("faqbot.slack.socket")
        )
        try:
            self._socket.connect()
        except SlackApiError as exc:
            _close_socket_mode(self._socket)
            self._socket = None
            raise ConfigError("SLACK_APP_TOKEN", f"Slack refused a Socket Mode connection: {exc.response.get('error', exc)}") from exc
        except (SlackClientError, OSError) as exc:
            _close_socket_mode(self._socket)
            self._socket = None
            raise ConfigError("SLACK_API_URL", f"cannot open a Socket Mode connection via {self.settings.api_url}: {exc}") from exc
        log.info("slack: Socket Mode connected")

    def stop(self, timeout: float) -> None:
        """Stop taking events, then let the answers in flight finish within `timeout`."""
        deadline = time.monotonic() + max(timeout, 0.0)
        if self._http is not None:
            self._http.stop()
        if self._socket is not None:
            # close() waits for its own worker threads; bound that by the grace period too
            closer = threading.Thread(target=_close_socket_mode, args=(self._socket,), name="faqbot-slack-close", daemon=True)
            closer.start()
            closer.join(max(deadline - time.monotonic(), 0.0))
        self.closed.set()
        if not self.slack.executor.wait_idle(max(deadline - time.monotonic(), 0.0)):
            log.warning("slack: %d answers still in flight at shutdown", self.slack.executor.pending)
        self.slack.executor.shutdown(wait=False, cancel_futures=True)


def _close_socket_mode(handler: SocketModeHandler) -> None:
    client = handler.client
    client.auto_reconnect_enabled = False  # dropping the socket below must not look like an outage
    # slack_sdk's built-in client waits in recv() (3 s timeout) holding the lock that
    # close() needs, and its message loop waits 1 s on its queue: wake both, so a
    # shutdown takes milliseconds instead of seconds.
    sock = getattr(client.current_session, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    client.message_queue.put(None)
    handler.close()


def build_service(ctx: BotContext) -> SlackService:
    """What `faqbot slack` and `faqbot run` start. `faqbot run` opened the learner already
    (one per process, shared with QQ); `faqbot slack` alone did not, so teaching needs it here."""
    settings = SlackSettings.resolve(ctx.config.slack)
    if ctx.learner is None:
        try:
            ctx.learner = Learner.open(ctx.engine, ctx.config)
        except StoreError as exc:  # a damaged learned.yaml stops the start, naming the file and place
            raise ConfigError("data_dir", f"refusing to start: {exc}") from exc
    return SlackService(ctx, settings)
