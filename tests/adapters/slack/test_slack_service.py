"""Settings from the environment, start/stop of the service, and `faqbot slack`
as a real process against the mock Slack."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
import yaml
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

import adapters.slack.settings as settings_module
from adapters.slack.service import SlackService, build_service
from adapters.slack.settings import DEFAULT_API_URL, SlackSettings, web_client
from bot.ops.config import Config, ConfigError, SlackConfig
from bot.ops.runtime import BotContext
from tests.support import REPO
from tests.support.slack_mock import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, BotUnderTest, MockSlack, mention

ANSWERABLE = "docker pull is very slow"
SOCKET_ENV = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}


@pytest.fixture
def mock():
    with MockSlack() as slack:
        yield slack


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("config, env, key", [
    (SlackConfig(), {"SLACK_APP_TOKEN": APP_TOKEN}, "SLACK_BOT_TOKEN"),
    (SlackConfig(), {"SLACK_BOT_TOKEN": "  "}, "SLACK_BOT_TOKEN"),
    (SlackConfig(mode="socket"), {"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_APP_TOKEN"),
    (SlackConfig(mode="http"), {"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_SIGNING_SECRET"),
    (SlackConfig(), {**SOCKET_ENV, "SLACK_API_URL": "127.0.0.1:8888/api/"}, "SLACK_API_URL"),
    (SlackConfig(workers=0), SOCKET_ENV, "slack.workers"),
])
def test_missing_or_wrong_settings_name_the_variable(config, env, key):
    with pytest.raises(ConfigError) as error:
        SlackSettings.resolve(config, env)
    assert error.value.key == key


def test_the_api_url_comes_from_the_environment_then_the_config():
    assert SlackSettings.resolve(SlackConfig(), SOCKET_ENV).api_url == DEFAULT_API_URL
    assert SlackSettings.resolve(SlackConfig(api_url="http://127.0.0.1:9/api"), SOCKET_ENV).api_url == "http://127.0.0.1:9/api/"
    env = {**SOCKET_ENV, "SLACK_API_URL": "http://127.0.0.1:8/api/"}
    settings = SlackSettings.resolve(SlackConfig(api_url="http://127.0.0.1:9/api/"), env)
    assert settings.api_url == "http://127.0.0.1:8/api/"
    http = SlackSettings.resolve(SlackConfig(mode="http", port=4000), {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s"})
    assert (http.mode, http.port, http.signing_secret, http.app_token) == ("http", 4000, "s", "")


def test_the_web_client_honours_rate_limits_and_retries_dropped_connections():
    client = web_client(SlackSettings(mode="socket", bot_token=BOT_TOKEN, api_url="http://127.0.0.1:9/api/"))
    assert client.base_url == "http://127.0.0.1:9/api/" and client.token == BOT_TOKEN
    kinds = {type(h) for h in client.retry_handlers}
    assert {RateLimitErrorRetryHandler, ConnectionErrorRetryHandler} <= kinds


def test_build_service_reads_the_environment(monkeypatch, sample_engine, tmp_path):
    for name, value in {**SOCKET_ENV, "SLACK_API_URL": "http://127.0.0.1:7/api/"}.items():
        monkeypatch.setenv(name, value)
    service = build_service(BotContext(Config(data_dir=str(tmp_path)), sample_engine))
    try:
        assert isinstance(service, SlackService) and service.name == "slack"
        assert service.client.base_url == "http://127.0.0.1:7/api/"
        assert service.slack.app.client is service.client, "the App uses the configured client"
    finally:
        service.stop(1)


def _service(mock, ctx, mode="socket", api_url=None):
    settings = SlackSettings(mode=mode, bot_token=BOT_TOKEN, app_token=APP_TOKEN, signing_secret=SIGNING_SECRET,
                             api_url=api_url or mock.api_url, host="127.0.0.1", port=0)
    return SlackService(ctx, settings)


def test_a_refused_token_stops_the_start_with_the_reason(mock, sample_engine, tmp_path):
    mock.fail("auth.test", "invalid_auth")
    service = _service(mock, BotContext(Config(data_dir=str(tmp_path)), sample_engine))
    with pytest.raises(ConfigError, match="invalid_auth") as error:
        service.start()
    assert error.value.key == "SLACK_BOT_TOKEN"
    service.stop(1)


def test_a_refused_app_token_stops_the_socket_mode_start(mock, sample_engine, tmp_path):
    mock.fail("apps.connections.open", "invalid_auth")
    service = _service(mock, BotContext(Config(data_dir=str(tmp_path)), sample_engine))
    with pytest.raises(ConfigError) as error:
        service.start()
    assert error.value.key == "SLACK_APP_TOKEN"
    service.stop(1)


def test_an_unreachable_slack_stops_the_start_with_the_url(mock, sample_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(settings_module, "CONNECTION_RETRIES", 0)  # the retries' backoff is not under test
    url = f"http://127.0.0.1:{_free_port()}/api/"
    service = _service(mock, BotContext(Config(data_dir=str(tmp_path)), sample_engine), api_url=url)
    with pytest.raises(ConfigError, match="cannot reach Slack") as error:
        service.start()
    assert error.value.key == "SLACK_API_URL"
    service.stop(1)


def test_stop_refuses_new_requests_and_lets_answers_in_flight_finish(mock, sample_engine, tmp_path):
    bot = BotUnderTest(mock, BotContext(Config(data_dir=str(tmp_path)), sample_engine), "http").start()
    release = mock.hold("chat.postMessage")
    bot.event(mention(ANSWERABLE))
    [held] = mock.wait_for("chat.postMessage")
    stopper = threading.Thread(target=bot.stop, args=(10,))
    stopper.start()
    try:
        assert bot.service.closed.wait(5)
        with pytest.raises(OSError):
            bot.event(mention(ANSWERABLE))  # the door is closed while the first answer drains
        assert stopper.is_alive(), "stop() waits for the answer in flight"
    finally:
        release.set()
        stopper.join(10)
    assert not stopper.is_alive() and held.status == 200
    assert len(mock.calls("chat.postMessage")) == 1


def test_faqbot_slack_runs_against_the_mock_and_stops_on_sigterm(mock, sample_pack_dir, tmp_path):
    config = tmp_path / "faqbot.yaml"
    config.write_text(yaml.safe_dump({
        "packs": [str(sample_pack_dir)], "data_dir": str(tmp_path / "data"),
        "slack": {"enabled": True, "mode": "socket"}, "http": {"enabled": False},
    }), encoding="utf-8")
    env = {**os.environ, **SOCKET_ENV, "SLACK_API_URL": mock.api_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "slack", "--config", str(config)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert mock.socket.wait_connected(timeout=30), "faqbot slack did not open a Socket Mode connection"
        event = mention(ANSWERABLE)
        mock.socket.wait_ack(mock.socket.send("events_api", {
            "type": "event_callback", "event_id": "EvCLI0001", "team_id": "T0001", "event": event,
        }))
        [answer] = mock.wait_for("chat.postMessage", timeout=10)
        assert answer.params["thread_ts"] == event["ts"] and "registry mirror" in str(answer.params["text"])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_the_manifest_asks_for_what_the_app_listens_to_and_no_more():
    from adapters.slack.app import COMMAND

    manifest = yaml.safe_load((REPO / "adapters" / "slack" / "manifest.yaml").read_text(encoding="utf-8"))
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [COMMAND]
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_mention", "message.channels", "message.groups", "reaction_added", "reaction_removed"
    }
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read", "chat:write", "commands", "channels:history", "groups:history",
        "reactions:read", "reactions:write", "usergroups:read",
    }
    assert manifest["settings"]["interactivity"]["is_enabled"] and manifest["settings"]["socket_mode_enabled"]
