"""One running bot process: the parts `faqbot run` starts, in order, and stops in reverse.

One engine and one learned-knowledge store shared by every adapter the
configuration enables (Slack, QQ); with none, the console adapter on stdin and
stdout. Around them: the /healthz + /metrics endpoint, pack hot reload (file
edits and SIGHUP), and a bounded shutdown on SIGTERM/SIGINT: adapters stop
taking events and finish the replies in flight within `shutdown_grace_s`, and
a watchdog ends the process if anything still hangs past that.

The learned-knowledge store commits every change to disk atomically as it is
made, so once the adapters' in-flight work is done there is nothing left to
flush.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time

from ..learning.suggestions import attach_suggestions
from .config import Config, ConfigError, check_data_dir
from .health import RUNNING, STOPPING, HealthServer, HealthState
from .reload import PackReloader, ReloadResult, fingerprint, load_packs
from .runtime import Metrics, Service
from .serve import build_context, load_service, run_services

log = logging.getLogger("faqbot")

PLATFORMS = ("slack", "qq")
# past the grace period, this long for the rest of the shutdown before the watchdog ends the process
WATCHDOG_MARGIN_S = 5.0
EXIT_STUCK = 70


def enabled_platforms(config: Config) -> list[str]:
    return [name for name in PLATFORMS if getattr(config, name).enabled]


def seed_metrics(metrics: Metrics, adapters: tuple[str, ...]) -> None:
    """Zero series for what a dashboard graphs from the first scrape, before anything happened."""
    for platform in adapters:
        for name in ("messages", "answers", "abstentions"):
            metrics.inc(name, 0.0, platform=platform)
    if "qq" in adapters:
        metrics.inc("reconnects", 0.0, platform="qq")
        metrics.inc("connection_errors", 0.0, platform="qq")
    metrics.inc("reloads", 0.0)
    metrics.inc("reload_failures", 0.0)


class Runner:
    """The parts of a running process, started in order and stopped in reverse."""

    def __init__(self, config: Config):
        self.config = config
        self.stop = threading.Event()
        baseline = fingerprint(config.packs)  # before loading, so an edit during the load still counts
        check_data_dir(config)  # unwritable: refused now, not at the first teach
        packs = load_packs(config.packs)  # PackError naming file and line, as a reload would
        # the same engine and learned knowledge as every other command (a damaged store stops the start here)
        self.ctx = build_context(config, packs)
        self.services: list[Service] = [load_service(name, self.ctx) for name in enabled_platforms(config)]
        if not self.services:
            from adapters.console.service import ConsoleService

            log.info("no platform enabled (slack.enabled, qq.enabled): console adapter on stdin/stdout until end of input")
            self.services = [ConsoleService(self.ctx, on_eof=self.stop.set)]
        attach_suggestions(self.ctx)  # picks, votes and shares become suggested aliases and negatives
        if config.web.enabled:  # the maintainers' page, on its own port
            try:
                from ..web.service import WebService
            except ImportError as exc:  # starlette, jinja2, uvicorn, itsdangerous: the web extra
                raise ConfigError("web.enabled", f"the page needs the web extra (pip install 'faqbot[web]'): {exc}") from exc
            self.services.append(WebService(self.ctx))
        self.state = HealthState(
            adapters=tuple(s.name for s in self.services),
            connections={s.name: s.connected for s in self.services if callable(getattr(s, "connected", None))},
        )
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
        """A daemon thread: it dies with a process that exits in time, and ends one that does not
        (an adapter stuck in stop(), or a worker thread that the interpreter waits for at exit)."""
        self.stop.wait()
        self.state.phase = STOPPING  # /healthz answers 503 from the first moment of the shutdown
        time.sleep(deadline_s)
        log.error("shutdown did not finish within %.0f s; exiting anyway", deadline_s)
        logging.shutdown()
        os._exit(EXIT_STUCK)

    def run(self) -> int:
        previous_hup = None
        if threading.current_thread() is threading.main_thread():  # a process of its own, not a test harness
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
        log.info("faqbot stopped")
        return 0
