"""HTTP mode at the door: signatures, paths and malformed requests, against the
real HTTP server and Bolt App (nothing may reach a listener unverified)."""
from __future__ import annotations

import http.client
import json
import time
import urllib.request

import pytest

from bot.ops.config import Config, SlackConfig
from bot.ops.runtime import BotContext
from tests.support.slack_mock import BotUnderTest, MockSlack, event_callback, http_body, mention, post, signed_headers

ANSWERABLE = "docker pull is very slow"


@pytest.fixture
def mock():
    with MockSlack() as slack:
        yield slack


@pytest.fixture
def bot(mock, sample_engine, tmp_path):
    config = Config(data_dir=str(tmp_path / "data"), slack=SlackConfig(mode="http"))
    running = BotUnderTest(mock, BotContext(config, sample_engine), "http").start()
    yield running
    running.stop()


def _mention_body() -> bytes:
    body, _ = http_body("events_api", event_callback(mention(ANSWERABLE)))
    return body


@pytest.mark.parametrize("headers", [
    signed_headers(b"a different body"),  # a signature of something else
    signed_headers(_mention_body(), secret="not-the-secret"),
    signed_headers(_mention_body(), timestamp=int(time.time()) - 3600),  # replayed an hour later
    {},  # no signature at all
    {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
])
def test_a_request_without_a_valid_signature_is_rejected_with_401(bot, mock, headers):
    body = _mention_body()
    status, _ = post(bot.events_url, body, "application/json", headers)
    assert status == 401
    bot.idle()
    assert mock.calls("chat.postMessage") == []


def test_the_same_request_correctly_signed_is_answered(bot, mock):
    body = _mention_body()
    status, _ = post(bot.events_url, body, "application/json", signed_headers(body))
    assert status == 200
    mock.wait_for("chat.postMessage")


def test_url_verification_is_answered_with_the_challenge(bot):
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}).encode()
    status, reply = post(bot.events_url, body, "application/json", signed_headers(body))
    assert status == 200 and b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in reply


def test_other_paths_methods_and_malformed_bodies_are_refused(bot, mock):
    base = bot.events_url.rsplit("/slack/events", 1)[0]
    body = _mention_body()
    assert post(base + "/other", body, "application/json", signed_headers(body))[0] == 404
    with pytest.raises(urllib.error.HTTPError) as get:
        urllib.request.urlopen(bot.events_url, timeout=5)
    assert get.value.code == 405
    # announces 2 MiB: refused on the header alone, before anything is buffered
    conn = http.client.HTTPConnection("127.0.0.1", bot.service.port, timeout=5)
    conn.putrequest("POST", "/slack/events")
    conn.putheader("Content-Length", str(2 << 20))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()
    bad_utf8 = b"\xff\xfe{"
    assert post(bot.events_url, bad_utf8, "application/json")[0] == 400
    garbage = b"{not json"
    assert post(bot.events_url, garbage, "application/json", signed_headers(garbage))[0] == 400
    bot.idle()
    assert mock.calls("chat.postMessage") == []
