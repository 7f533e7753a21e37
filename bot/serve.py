"""Process lifecycle: build the shared context, start adapter services, stop
them cleanly on SIGINT/SIGTERM within the configured grace period.

Adapters are found by name: `adapters.<name>.service.build_service(ctx)`
returns an object with `start()` and `stop(timeout)` (bot.runtime.Service).
"""
from __future__ import annotations

import importlib
import logging
import signal
import threading
from typing import Callable, Optional, Sequence

from .config import Config
from .engine import Engine
from .runtime import BotContext, Service

logger = logging.getLogger("faqbot")


def build_context(config: Config) -> BotContext:
    """Engine and learned knowledge for one process; a damaged learned.yaml stops the start."""
    from .learning import Learner

    engine = Engine.from_packs(config.packs, config.thresholds)
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
    return 0
