"""The /healthz + /metrics endpoint on a real loopback socket, and the Docker probe."""
from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from bot.matching.engine import Engine
from bot.ops.config import Config, HttpConfig
from bot.ops.health import RUNNING, STOPPING, HealthServer, HealthState, main, probe_url
from bot.ops.runtime import BotContext


@pytest.fixture
def ctx(sample_engine: Engine) -> BotContext:
    return BotContext(config=Config(), engine=sample_engine)


@pytest.fixture
def served(ctx: BotContext) -> Iterator[tuple[HealthServer, HealthState]]:
    state = HealthState(adapters=("qq", "slack"))
    server = HealthServer(ctx, state, HttpConfig(host="127.0.0.1", port=0))
    server.start()
    yield server, state
    server.stop()


def get(server: HealthServer, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_healthz_is_503_until_running_then_reports_the_knowledge(served) -> None:
    server, state = served
    status, _, body = get(server, "/healthz")
    assert status == 503 and json.loads(body)["status"] == "starting"
    state.phase = RUNNING
    status, content_type, body = get(server, "/healthz")
    report = json.loads(body)
    assert status == 200 and content_type == "application/json"
    assert report["status"] == "ok" and report["entries"] == 6 and report["adapters"] == ["qq", "slack"]
    assert report["uptime"] >= 0
    state.phase = STOPPING
    assert get(server, "/healthz")[0] == 503


def test_healthz_shows_a_refused_reload_while_still_serving(served) -> None:
    server, state = served
    state.phase, state.reload_error = RUNNING, "1 problem(s), first: pack/002.yaml:3: unknown field"
    status, _, body = get(server, "/healthz")
    assert status == 200 and json.loads(body)["reload_error"].endswith("002.yaml:3: unknown field")


def test_metrics_are_prometheus_text_with_what_was_counted(ctx: BotContext, served) -> None:
    server, state = served
    state.phase = RUNNING
    result = ctx.engine.ask("docker pull is very slow")
    ctx.observe("slack", "C1", result, time.perf_counter(), replied=True)
    ctx.metrics.inc("reconnects", platform="qq")
    status, content_type, text = get(server, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    lines = text.splitlines()
    assert 'faqbot_messages_total{platform="slack"} 1' in lines
    assert 'faqbot_answers_total{platform="slack"} 1' in lines
    assert 'faqbot_reconnects_total{platform="qq"} 1' in lines
    assert 'faqbot_reply_latency_seconds_bucket{le="+Inf"} 1' in lines
    assert "faqbot_knowledge_entries 6" in lines and "faqbot_up 1" in lines


def test_other_paths_and_methods_are_refused_and_garbage_does_not_stop_the_server(served) -> None:
    server, state = served
    state.phase = RUNNING
    assert get(server, "/")[0] == 404
    assert get(server, "/healthz/../metrics")[0] == 404
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/healthz", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 501
    for junk in (b"\x00\xff\xfe garbage\r\n\r\n", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"GET"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(junk)
            sock.shutdown(socket.SHUT_WR)
            sock.recv(1024)
    # a client that connects and says nothing holds only its own thread
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        assert get(server, "/healthz")[0] == 200
    finally:
        idle.close()


def test_the_docker_probe_follows_the_configured_address(served, tmp_path: Path, capsys) -> None:
    server, state = served
    config = tmp_path / "faqbot.yaml"
    config.write_text(f"http:\n  host: 0.0.0.0\n  port: {server.port}\n", encoding="utf-8")
    assert probe_url(HttpConfig(host="0.0.0.0", port=server.port)) == f"http://127.0.0.1:{server.port}/healthz"
    assert main(["--config", str(config)]) == 1  # still starting
    state.phase = RUNNING
    assert main(["--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["status"] == "ok"
    server.stop()
    assert main(["--config", str(config)]) == 1  # nothing listening


def test_a_taken_port_is_a_config_error_naming_the_key(ctx: BotContext, served) -> None:
    from bot.ops.config import ConfigError

    server, _ = served
    other = HealthServer(ctx, HealthState(), HttpConfig(host="127.0.0.1", port=server.port))
    with pytest.raises(ConfigError, match="http.port"):
        other.start()
