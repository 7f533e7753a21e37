"""`faqbot qq`: the QQ adapter as a service with its own asyncio loop and thread.

Wiring only: connections (connection.py) feed typed events to the handler
(handler.py), whose replies go out through the per-group outbox (outbox.py).
The access token is read from $ONEBOT_ACCESS_TOKEN, never from the config file.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Optional

from bot.ops import BotContext, ConfigError
from bot.store import EventClaims

from .connection import Links, run_forward, serve_reverse
from .events import Event, FetchedMessage, GroupMessage, MetaEvent, as_number, parse_fetched
from .handler import Handler
from .outbox import Outbox

log = logging.getLogger("faqbot.qq")

TOKEN_ENV = "ONEBOT_ACCESS_TOKEN"
START_TIMEOUT_S = 30.0


class QQBot:
    """The adapter inside its event loop."""

    def __init__(self, ctx: BotContext, token: str):
        qq = ctx.config.qq
        self.ctx = ctx
        self.token = token
        self.links = Links(qq.request_timeout_s)
        self.handler = Handler(ctx, self._fetch, lookup_role=self._member_role)
        self.outbox = Outbox(self.links, ctx.metrics, self.handler.sent, qq.send_interval_s, qq.send_backlog)
        self.claims = EventClaims.for_context(ctx)
        self.reverse_port: Optional[int] = None
        self._handling: set[asyncio.Task] = set()
        self._forward: Optional[asyncio.Task] = None
        self._server = None
        self._accepting = True

    async def start(self) -> None:
        qq = self.ctx.config.qq
        if qq.reverse_host:
            if not self.token:
                log.warning("reverse WebSocket on %s:%s accepts anyone: set %s", qq.reverse_host, qq.reverse_port, TOKEN_ENV)
            self._server = await serve_reverse(qq.reverse_host, qq.reverse_port, self.token, self.links, self.on_event, self.ctx.metrics)
            self.reverse_port = self._server.sockets[0].getsockname()[1]
            log.info("listening for OneBot (reverse WebSocket) on %s:%s", qq.reverse_host, self.reverse_port)
        if qq.ws_url:
            self._forward = asyncio.get_running_loop().create_task(
                run_forward(qq.ws_url, self.token, self.links, self.on_event, qq.reconnect_max_s, self.ctx.metrics)
            )

    def on_event(self, event: Event, received: float) -> None:
        if not self._accepting:
            return
        if isinstance(event, MetaEvent):
            if event.kind == "lifecycle":
                log.info("OneBot lifecycle %s (account %s)", event.sub_type, event.self_id or "?")
            return
        task = asyncio.get_running_loop().create_task(self._handle(event, received))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, event: Event, received: float) -> None:
        if isinstance(event, GroupMessage) and self.claims.enabled:
            # several processes on one account: the first to claim a message handles it (bot.store.claims);
            # teaching reactions need no claim, the learner's event keys make a second delivery a no-op
            key = f"{event.self_id}:{event.group_id}:{event.message_id}:{event.time}"
            if not await asyncio.to_thread(self.claims.claim, "qq", key):
                return
        try:
            out = await self.handler.handle(event, received)
        except Exception:  # one bad event must not stop the others
            log.exception("error while handling a QQ event")
            self.ctx.metrics.inc("errors", platform="qq")
            return
        if out is not None:
            self.outbox.submit(out)

    async def _fetch(self, self_id: str, message_id: str) -> Optional[FetchedMessage]:
        result = await self.links.call(self_id, "get_msg", {"message_id": as_number(message_id)})
        if not result.ok:
            log.info("get_msg %s failed: retcode %s %s", message_id, result.retcode, result.message)
            return None
        return parse_fetched(result.data)

    async def _member_role(self, self_id: str, group_id: str, user_id: str) -> Optional[str]:
        params = {"group_id": as_number(group_id), "user_id": as_number(user_id)}
        result = await self.links.call(self_id, "get_group_member_info", params)
        if not result.ok or not isinstance(result.data, dict):
            log.info("get_group_member_info %s/%s failed: retcode %s %s", group_id, user_id, result.retcode, result.message)
            return None
        return str(result.data.get("role") or "")

    async def stop(self, timeout: float) -> None:
        """Take no new events, let replies in flight go out, then close."""
        self._accepting = False
        deadline = asyncio.get_running_loop().time() + timeout
        # handlers first: they may still queue replies
        for tasks in (self._handling, self.outbox.tasks):
            remaining = deadline - asyncio.get_running_loop().time()
            if tasks and remaining > 0:
                await asyncio.wait(set(tasks), timeout=remaining)
        leftover = self._handling | self.outbox.tasks
        if leftover:
            log.warning("stopping with %d QQ replies not sent", len(leftover))
        if self._forward is not None:
            self._forward.cancel()
            await asyncio.gather(self._forward, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await asyncio.gather(*(link.close() for link in self.links), return_exceptions=True)


class QQService:
    name = "qq"

    def __init__(self, ctx: BotContext, token: str = ""):
        self.ctx = ctx
        self.bot = QQBot(ctx, token)
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._stop_timeout = 0.0
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None

    @property
    def reverse_port(self) -> Optional[int]:
        return self.bot.reverse_port

    def connected(self) -> bool:
        """Whether a OneBot implementation is connected right now (for /healthz)."""
        return any(True for _ in self.bot.links)

    def start(self) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="faqbot-qq", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("the QQ adapter did not start in time")
        if self._error is not None:
            raise self._error

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.bot.start()
        except BaseException as exc:  # e.g. the reverse port is taken: report it to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.bot.stop(self._stop_timeout)

    def stop(self, timeout: float) -> None:
        if self._thread is None or self._loop is None or self._stop is None:
            return
        # most of the grace period for replies in flight, the rest for closing
        self._stop_timeout = timeout * 0.7
        try:
            self._loop.call_soon_threadsafe(self._stop.set)
        except RuntimeError:
            pass  # the loop already ended
        self._thread.join(timeout)


def build_service(ctx: BotContext) -> QQService:
    qq = ctx.config.qq
    if not qq.ws_url and not qq.reverse_host:
        raise ConfigError("qq.ws_url", "set qq.ws_url (forward WebSocket) or qq.reverse_host (reverse WebSocket) to run the QQ adapter")
    if ctx.learner is None:
        log.warning("no learner in this process: teaching gestures and /faq add|forget are turned away")
    return QQService(ctx, os.environ.get(TOKEN_ENV, ""))
