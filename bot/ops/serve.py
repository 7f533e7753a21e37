"""Process lifecycle: build the shared context, start adapter services, stop
them cleanly on SIGINT/SIGTERM within the configured grace period.

Adapters are found by name: `adapters.<name>.service.build_service(ctx)`
returns an object with `start()` and `stop(timeout)` (bot.ops.runtime.Service).
"""
from __future__ import annotations

import importlib
import logging
import signal
import threading
from typing import Callable, Optional, Sequence

from ..matching.engine import Engine
from ..matching.types import Pack
from .config import Config
from .runtime import BotContext, Service

logger = logging.getLogger("faqbot")


def build_context(config: Config, packs: Optional[Sequence[Pack]] = None) -> BotContext:
    """The engine every command answers with: the configured packs (or `packs`, already
    loaded) with the learned knowledge of the configured store applied on top. `faqbot
    run`, `slack`, `qq`, `chat`, `ask` and `eval` all come through here, so a pair taught
    to the running bot is answered the same way by the preview commands. A damaged store
    stops the start."""
    from ..learning.learning import Learner
    from .reload import load_packs

    packs = list(packs) if packs is not None else load_packs(config.packs)  # PackError naming file and line
    engine = Engine([e for p in packs for e in p.entries], config.thresholds, packs=packs)
    ctx = BotContext(config=config, engine=engine, json_logs=config.log.format == "json")
    ctx.learner = Learner.open(engine, config)
    return ctx


def load_service(name: str, ctx: BotContext) -> Service:
    module = importlib.import_module(f"adapters.{name}.service")
    return module.build_service(ctx)


def run_services(
    ctx: BotContext,
    services: Sequence[Service],
    stop: Optional[threading.Event] = None,
    on_started: Callable[[], None] = lambda: None,
) -> int:
    """Start every service, block until stopped, then stop them all."""
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        # the handler runs on the main thread, possibly while it holds the event's
        # (non-reentrant) lock inside wait(): set it from another thread instead
        def on_signal(*_: object) -> None:
            threading.Thread(target=stop.set, daemon=True).start()

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    started: list[Service] = []
    background = start_background(ctx)
    try:
        for service in services:
            service.start()
            started.append(service)
            logger.info("started %s", getattr(service, "name", type(service).__name__))
        on_started()
        while not stop.wait(0.5):
            pass
    finally:
        grace = ctx.config.shutdown_grace_s
        for service in reversed(started):
            try:
                service.stop(grace / max(len(started), 1))
            except Exception:  # one adapter failing to stop must not keep the others running
                logger.exception("error while stopping %s", getattr(service, "name", service))
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        background()
    return 0


def start_background(ctx: BotContext) -> Callable[[], None]:
    """What a running bot does besides answering: follow other processes' teaching, write the
    question log. Returns the function that stops both (the log's queue is written first)."""
    from ..learning.question_log import QuestionLog

    learner = ctx.learner
    store = getattr(learner, "store", None)
    if learner is None or store is None:
        return lambda: None
    learner.follow(ctx.config.database.poll_interval_s)
    if ctx.question_log is None and ctx.config.question_log.enabled:
        ctx.question_log = QuestionLog(store, ctx.config.question_log, count=lambda name, n: ctx.metrics.inc(name, n))

    def stop() -> None:
        learner.stop_following()
        if ctx.question_log is not None:
            ctx.question_log.close(timeout=min(ctx.config.shutdown_grace_s, 5.0))

    return stop
