"""The maintainers' page as a service of `faqbot run`: uvicorn in a thread, on its own port.

Off unless `web.enabled`; refuses to start without $FAQBOT_ADMIN_TOKEN (16+
characters). Implements bot.ops.runtime.Service (start returns once listening).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Optional

from ..learning.suggestions import attach_suggestions
from ..ops.config import ConfigError
from .app import WebDeps, build_app
from .auth import MIN_TOKEN_CHARS, TOKEN_ENV
from .data import GapCache, Refresher, StatsCache, WaitingCache

log = logging.getLogger("faqbot.web")


def web_deps(ctx: Any) -> WebDeps:
    book = attach_suggestions(ctx)
    return WebDeps(ctx, book, GapCache(ctx.learner.store, book.usage, ctx.engine.weights), StatsCache(ctx.learner.store),
                   WaitingCache(book))


class WebService:
    name = "web"

    def __init__(self, ctx: Any, token: Optional[str] = None, refresh_s: float = 30.0):
        import uvicorn

        web = ctx.config.web
        token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        if len(token) < MIN_TOKEN_CHARS:
            raise ConfigError("web.enabled", f"the page needs ${TOKEN_ENV} set to at least {MIN_TOKEN_CHARS} characters")
        self.deps = web_deps(ctx)
        app = build_app(self.deps, token, secure_cookies=web.secure_cookies, session_hours=web.session_hours)
        config = uvicorn.Config(app, host=web.host, port=web.port, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self._thread: Optional[threading.Thread] = None
        # overview figures and gap clusters are recomputed in the background: a view never waits for them
        self.refresher = Refresher([self.deps.stats, self.deps.waiting, self.deps.gaps], refresh_s)

    @property
    def port(self) -> int:
        servers = getattr(self.server, "servers", None) or []
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    def start(self) -> None:
        self.refresher.start()
        self._thread = threading.Thread(target=self.server.run, name="faqbot-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise ConfigError("web.port", f"the maintainers' page could not listen on {self.server.config.host}:{self.server.config.port}")
        log.info("maintainers' page on http://%s:%d/admin/", self.server.config.host, self.port)

    def stop(self, timeout: float) -> None:
        self.server.should_exit = True
        self.refresher.stop(min(timeout, 5.0))
        if self._thread is not None:
            self._thread.join(timeout)
        if self.deps.book is not None:
            self.deps.book.close(timeout=min(timeout, 5.0))
