"""`faqbot run`: the whole bot in one process, as deployed (and as the Docker image runs it).

One configuration, one engine, one learned-knowledge store, shared by every
adapter the configuration enables (Slack, QQ); with none enabled, the console
adapter on stdin/stdout, so a fresh checkout runs without any account. Around
the adapters: the /healthz + /metrics endpoint, pack hot reload (file edits
and SIGHUP), and a bounded shutdown on SIGTERM/SIGINT: adapters stop taking
events and finish the replies in flight within `shutdown_grace_s`; a watchdog
ends the process if anything still hangs after that.

The learned-knowledge store commits every change to disk atomically when it is
made, so once the adapters' in-flight work is finished there is nothing left
to flush.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Optional

from . import logsetup
from .config import Config, ConfigError, load_config
from .health import RUNNING, STOPPING, HealthServer, HealthState
from .learning import Learner
from .reload import PackReloader, ReloadResult, fingerprint
from .runtime import Metrics, Service
from .serve import build_context, load_service, run_services
from .store import StoreError
from .types import PackError

log = logging.getLogger("faqbot")

CONFIG_ENV = "FAQBOT_CONFIG"
DEFAULT_CONFIG_FILE = "faqbot.yaml"
PLATFORMS = ("slack", "qq")
# past the grace period, this long for the rest of the shutdown before the watchdog ends the process
WATCHDOG_MARGIN_S = 5.0
EXIT_STUCK = 70


def config_path(given: Optional[str]) -> Optional[str]:
    """--config, else $FAQBOT_CONFIG, else ./faqbot.yaml when there is one, else None (built-in defaults)."""
    if given:
        return given
    if os.environ.get(CONFIG_ENV):
        return os.environ[CONFIG_ENV]
    return DEFAULT_CONFIG_FILE if Path(DEFAULT_CONFIG_FILE).is_file() else None


def enabled_platforms(config: Config) -> list[str]:
    return [name for name in PLATFORMS if getattr(config, name).enabled]


def seed_metrics(metrics: Metrics, adapters: tuple[str, ...]) -> None:
    """Zero series for what a dashboard graphs from the first scrape, before anything happened."""
    for platform in adapters:
        for name in ("messages", "answers", "abstentions"):
            metrics.inc(name, 0.0, platform=platform)
    if "qq" in adapters:
        metrics.inc("reconnects", 0.0, platform="qq")
    metrics.inc("reloads", 0.0)
    metrics.inc("reload_failures", 0.0)


class Bot:
    """The parts of a running process, started in order and stopped in reverse."""

    def __init__(self, config: Config):
        self.config = config
        self.stop = threading.Event()
        self.stopped = threading.Event()
        baseline = fingerprint(config.packs)  # before loading, so an edit during the load still counts
        self.ctx = build_context(config)
        self.ctx.learner = Learner.open(self.ctx.engine, config)  # a damaged learned.yaml stops the start here
        self.services: list[Service] = [load_service(name, self.ctx) for name in enabled_platforms(config)]
        if not self.services:
            from adapters.console.service import ConsoleService

            self.services = [ConsoleService(self.ctx, on_eof=self.stop.set)]
        self.state = HealthState(adapters=tuple(s.name for s in self.services))
        seed_metrics(self.ctx.metrics, self.state.adapters)
        self.health = HealthServer(self.ctx, self.state, config.http) if config.http.enabled else None
        self.reloader = PackReloader(
            self.ctx.engine, config.packs, self.ctx.metrics, watch=config.reload, on_result=self._reloaded, baseline=baseline
        )

    def _reloaded(self, result: ReloadResult) -> None:
        self.state.reload_error = "" if result.ok else f"{len(result.problems)} problem(s), first: {result.problems[0]}"

    def _started(self) -> None:
        self.state.phase = RUNNING
        log.info(
            "faqbot running: adapters=%s entries=%d packs=%s",
            ",".join(self.state.adapters), len(self.ctx.engine.entries), ",".join(self.config.packs),
        )

    def _watchdog(self, deadline_s: float) -> None:
        self.stop.wait()
        self.state.phase = STOPPING  # /healthz answers 503 from the first moment of the shutdown
        if self.stopped.wait(deadline_s):
            return
        log.error("shutdown did not finish within %.0f s; exiting anyway", deadline_s)
        logging.shutdown()
        os._exit(EXIT_STUCK)

    def run(self) -> int:
        previous_hup = None
        if threading.current_thread() is threading.main_thread():
            previous_hup = signal.signal(signal.SIGHUP, lambda *_: self.reloader.request())
        deadline = self.config.shutdown_grace_s + WATCHDOG_MARGIN_S
        threading.Thread(target=self._watchdog, args=(deadline,), name="faqbot-watchdog", daemon=True).start()
        try:
            if self.health is not None:
                self.health.start()
                log.info("health and metrics on http://%s:%d (/healthz, /metrics)", self.config.http.host, self.health.port)
            self.reloader.start()
            run_services(self.ctx, self.services, self.stop, on_started=self._started)
        finally:
            self.stop.set()
            self.state.phase = STOPPING
            self.reloader.stop()
            if self.health is not None:
                self.health.stop()
            if previous_hup is not None:
                signal.signal(signal.SIGHUP, previous_hup)
            self.stopped.set()
        log.info("faqbot stopped")
        return 0


def _fail(message: str) -> int:
    print(f"faqbot: {message}", file=sys.stderr)
    return 2


def cmd_run(args: argparse.Namespace) -> int:
    try:
        config = load_config(config_path(getattr(args, "config", None)))
        logsetup.configure(config.log)
        bot = Bot(config)
    except ConfigError as exc:
        return _fail(str(exc))
    except (PackError, StoreError) as exc:  # both name the file (and line) to fix
        return _fail(f"refusing to start: {exc}")
    try:
        return bot.run()
    except ConfigError as exc:  # an adapter refused its credentials when it started
        return _fail(str(exc))


def register(subparsers: Any, func: Callable[[argparse.Namespace], int] = cmd_run) -> argparse.ArgumentParser:
    """Add `run` to the faqbot command line (bot.cli.build_parser)."""
    parser = subparsers.add_parser(
        "run", help="run every configured adapter in one process (console when none is configured)"
    )
    parser.add_argument(
        "--config",
        help=f"configuration file (default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG_FILE} if present, else built-in defaults)",
    )
    parser.set_defaults(func=func)
    return parser
