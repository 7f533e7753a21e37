"""The operations endpoint: GET /healthz (JSON) and GET /metrics (Prometheus text).

A stdlib HTTP server in its own daemon threads, one per connection, with a
socket timeout: a slow or stuck scraper holds only its own thread and never
the adapters. /healthz answers 200 only while the bot is running with
knowledge loaded (the engine is built before anything starts) and every
configured platform connected; while starting or stopping, or while a platform
is not connected (QQ with no OneBot link, Slack's Socket Mode down), it answers
503 with the reason, so that an orchestrator routes nothing to a bot that would
not answer and a deaf bot does not look healthy.

`python -m bot.ops.health` probes the endpoint of the configured bot (the Docker
HEALTHCHECK), so the probe follows `http.host`/`http.port` from the same config.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from .config import ConfigError, HttpConfig, load_config

if TYPE_CHECKING:  # the probe (python -m bot.ops.health) runs every 30 s: it must not load the engine
    from .runtime import BotContext

CLIENT_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 3.0
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STARTING, RUNNING, STOPPING = "starting", "ok", "stopping"


@dataclass
class HealthState:
    """What the process is doing, written by bot.ops.app and read by every request."""

    adapters: tuple[str, ...] = ()
    phase: str = STARTING
    started: float = field(default_factory=time.monotonic)
    reload_error: str = ""  # the last failed reload, while the last good knowledge serves
    # platform -> "is it connected now?", asked on every /healthz (adapters with no such notion are absent)
    connections: dict[str, Callable[[], bool]] = field(default_factory=dict)

    def disconnected(self) -> list[str]:
        """The configured platforms that are not connected right now."""
        down = []
        for name, connected in self.connections.items():
            try:
                ok = bool(connected())
            except Exception:  # a probe that fails says as much as one that answers False
                ok = False
            if not ok:
                down.append(name)
        return down

    def uptime(self) -> float:
        return time.monotonic() - self.started


def health_report(ctx: BotContext, state: HealthState) -> tuple[int, dict]:
    status = state.phase
    body = {
        "status": status,
        "entries": len(ctx.engine.entries),
        "uptime": round(state.uptime(), 1),
        "adapters": list(state.adapters),
    }
    if state.reload_error:
        body["reload_error"] = state.reload_error
    from ..store.report import database_health  # here: the probe (python -m bot.ops.health) never imports SQLAlchemy

    database = database_health(ctx)  # shown, never a reason for 503: answers keep coming from memory
    if database is not None:
        body["database"] = database
    if status == RUNNING:
        down = state.disconnected()
        if down:
            status = body["status"] = "degraded"
            body["not_connected"] = down
            body["reason"] = "not connected: " + ", ".join(down)
    return (200 if status == RUNNING else 503), body


def metrics_text(ctx: BotContext, state: HealthState) -> str:
    gauges = (
        "# TYPE faqbot_knowledge_entries gauge",
        f"faqbot_knowledge_entries {len(ctx.engine.entries)}",
        "# TYPE faqbot_uptime_seconds gauge",
        f"faqbot_uptime_seconds {state.uptime():.1f}",
        "# TYPE faqbot_up gauge",
        f"faqbot_up {1 if state.phase == RUNNING else 0}",
    )
    down = set(state.disconnected())
    if state.connections:
        gauges += ("# TYPE faqbot_connected gauge",) + tuple(
            f'faqbot_connected{{platform="{name}"}} {0 if name in down else 1}' for name in sorted(state.connections)
        )
    from ..store.report import database_metrics

    gauges += tuple(database_metrics(ctx))
    return ctx.metrics.render() + "\n".join(gauges) + "\n"


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    timeout = CLIENT_TIMEOUT_S
    server_version = "faqbot"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            status, body = health_report(self.server.ctx, self.server.state)
            self._send(status, "application/json", json.dumps(body, ensure_ascii=False))
        elif path == "/metrics":
            self._send(200, METRICS_CONTENT_TYPE, metrics_text(self.server.ctx, self.server.state))
        else:
            self._send(404, "text/plain; charset=utf-8", "not found: try /healthz or /metrics\n")

    def _send(self, status: int, content_type: str, text: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # scrapes every few seconds would drown the per-message log


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], ctx: BotContext, state: HealthState):
        self.ctx, self.state = ctx, state
        super().__init__(address, _Handler)


class HealthServer:
    def __init__(self, ctx: BotContext, state: HealthState, config: HttpConfig):
        self.ctx, self.state, self.config = ctx, state, config
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else 0

    def start(self) -> None:
        try:
            self._server = _Server((self.config.host, self.config.port), self.ctx, self.state)
        except OSError as exc:
            raise ConfigError("http.port", f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}") from exc
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="faqbot-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None


def probe_url(config: HttpConfig) -> str:
    # a server bound to every address is probed on loopback, where it also listens
    host = "127.0.0.1" if config.host in ("", "0.0.0.0") else "::1" if config.host == "::" else config.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{config.port}/healthz"


def probe(url: str, timeout: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return False, exc.read().decode("utf-8", "replace")
    except (OSError, ValueError) as exc:
        return False, str(exc)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Exit 0 when the configured bot answers /healthz with 200, else 1 (Docker HEALTHCHECK)."""
    parser = argparse.ArgumentParser(prog="python -m bot.ops.health", description=main.__doc__)
    parser.add_argument("--config", help="configuration file (default: $FAQBOT_CONFIG)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"faqbot health: {exc}", file=sys.stderr)
        return 1
    if not config.http.enabled:
        print("faqbot health: http.enabled is false, nothing to probe", file=sys.stderr)
        return 1
    ok, text = probe(probe_url(config.http))
    print(text.strip())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
