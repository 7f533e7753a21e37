"""Issue 15, the Slack side: bodies that used to drop the connection with a traceback,
a signed `/faq` replayed within the 5-minute window, and requests no listener
handles (another app's button, events beyond the manifest), which went unacked.

The real Slack service (slack-bolt App, HTTP server, Socket Mode client) against
the mock Slack on loopback."""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
from datetime import timedelta
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.http_server import RefusalLog
from bot.matching.engine import Engine
from bot.ops.config import Config, SlackConfig
from bot.ops.runtime import BotContext
from tests.support.slack_mock import BotUnderTest, MockSlack, block_actions, command_form, event_callback, http_body, post, signed_headers

ODD_BODIES = [
    b"[1]", b'"x"', b"1", b"null", b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b"\xff\xfe",
]
ODD_FORMS = [b"payload=%5B1%5D", b"payload=" + b"%5B" * 3000 + b"%5D" * 3000, b"payload=%22x%22"]


@pytest.fixture
def mock() -> Iterator[MockSlack]:
    with MockSlack() as slack:
        yield slack


def start(mock: MockSlack, engine: Engine, tmp_path, transport: str) -> BotUnderTest:
    config = Config(data_dir=str(tmp_path / "data"), slack=SlackConfig(mode=transport))
    return BotUnderTest(mock, BotContext(config, engine), transport).start()


@pytest.fixture
def http_bot(mock: MockSlack, sample_engine: Engine, tmp_path) -> Iterator[BotUnderTest]:
    bot = start(mock, sample_engine, tmp_path, "http")
    yield bot
    bot.stop()


@pytest.fixture(params=["http", "socket"])
def bot(request, mock: MockSlack, sample_engine: Engine, tmp_path) -> Iterator[BotUnderTest]:
    running = start(mock, sample_engine, tmp_path, request.param)
    yield running
    running.stop()


def no_tracebacks(caplog, capfd) -> None:
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert "Traceback" not in capfd.readouterr().err


# -- 5. odd bodies: a status, never a dropped connection or a traceback ----------------------------------
@pytest.mark.parametrize("body", ODD_BODIES + ODD_FORMS, ids=lambda b: repr(b[:12]))
def test_unsigned_odd_bodies_are_refused_without_a_traceback(http_bot: BotUnderTest, body: bytes, caplog, capfd) -> None:
    kind = "application/x-www-form-urlencoded" if body.startswith(b"payload=") else "application/json"
    with caplog.at_level(logging.DEBUG):
        status, _ = post(http_bot.events_url, body, kind)
    assert status == (400 if body == b"\xff\xfe" else 401)
    no_tracebacks(caplog, capfd)


@pytest.mark.parametrize("body", ODD_BODIES + ODD_FORMS, ids=lambda b: repr(b[:12]))
def test_signed_odd_bodies_get_400_without_a_traceback(http_bot: BotUnderTest, body: bytes, caplog, capfd) -> None:
    kind = "application/x-www-form-urlencoded" if body.startswith(b"payload=") else "application/json"
    headers = signed_headers(body.decode("latin-1").encode("utf-8") if body == b"\xff\xfe" else body)
    with caplog.at_level(logging.DEBUG):
        status, _ = post(http_bot.events_url, body, kind, headers)
    assert status == 400
    no_tracebacks(caplog, capfd)
    assert http_bot.event({"type": "app_mention", "user": "U0001", "text": "<@UBOT> hi", "ts": "1.1", "channel": "C0001"}) == 200


def test_a_flood_of_refused_requests_logs_one_short_line(http_bot: BotUnderTest, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="faqbot.slack"):
        for _ in range(50):
            assert post(http_bot.events_url, b"[1]", "application/json")[0] == 401
    refused = [r for r in caplog.records if "refused a request" in r.getMessage()]
    assert len(refused) == 1 and "\n" not in refused[0].getMessage()


def test_the_refusal_log_reports_how_many_it_kept_quiet_about(caplog) -> None:
    now = [0.0]
    refusals = RefusalLog(every=60, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="faqbot.slack"):
        for _ in range(5):
            refusals.refused(401, "no valid signature", "1.2.3.4")
        now[0] = 61.0
        refusals.refused(400, "odd", "1.2.3.4")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "and 4 more" in lines[1]


def test_a_garbled_content_length_is_a_status_not_a_dropped_connection(http_bot: BotUnderTest) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", http_bot.service.port, timeout=5)
    connection.putrequest("POST", "/slack/events")
    connection.putheader("Content-Length", "²")
    connection.endheaders()
    assert connection.getresponse().status == 411
    connection.close()


# -- 5. a signed /faq replayed within the window is answered once --------------------------------------
def test_a_replayed_signed_slash_command_is_answered_once(http_bot: BotUnderTest, mock: MockSlack) -> None:
    form = command_form("docker pull is very slow", response_url=mock.response_url("replay"))
    body, kind = http_body("slash_commands", form)
    headers = signed_headers(body)
    assert post(http_bot.events_url, body, kind, headers)[0] == 200
    http_bot.idle()
    answered = len(posted(mock))
    time.sleep(1.1)  # a replay comes later, with the same signature and timestamp
    assert post(http_bot.events_url, body, kind, headers)[0] == 200
    http_bot.idle()
    assert answered == 1 and len(posted(mock)) == answered, "the replay was answered again"
    # a new invocation (a new trigger_id) of the same text is answered
    assert http_bot.command("docker pull is very slow") == 200
    http_bot.idle()
    assert len(posted(mock)) == 2


# -- 6. everything is acknowledged, what is not ours ignored -----------------------------------------------
def posted(mock: MockSlack, since: int = 0) -> list[str]:
    """The Web API calls and response_url posts since call `since` (auth.test is Bolt's own, once)."""
    return [c.method for c in mock.calls()[since:] if c.method != "auth.test"]


def _acked(status) -> bool:
    return status == 200 if isinstance(status, int) else status is not None


@pytest.mark.parametrize("event", [
    {"type": "member_joined_channel", "user": "U0002", "channel": "C0001", "channel_type": "C", "team": "T0001"},
    {"type": "app_home_opened", "user": "U0002", "channel": "D0001", "tab": "home"},
    {"type": "team_join", "user": {"id": "U0003"}},
    {"type": "channel_created", "channel": {"id": "C9", "name": "x", "created": 1, "creator": "U0001"}},
])
def test_events_beyond_the_manifest_are_acked_and_ignored(bot: BotUnderTest, mock: MockSlack, event: dict) -> None:
    before = len(mock.calls())
    assert _acked(bot.deliver("events_api", event_callback(event, f"Ev{event['type']}")))
    bot.idle()
    assert posted(mock, before) == []


def test_another_apps_button_is_acked_and_ignored(bot: BotUnderTest, mock: MockSlack) -> None:
    before = len(mock.calls())
    click = block_actions({"action_id": "someone_elses_button", "value": "x", "type": "button"})
    assert _acked(bot.deliver("interactive", click))
    assert _acked(bot.deliver("interactive", {"type": "shortcut", "callback_id": "other", "trigger_id": "1.2", "user": {"id": "U1"}, "team": {"id": "T0001"}}))
    assert _acked(bot.deliver("interactive", {"type": "view_submission", "view": {"callback_id": "other", "id": "V1", "type": "modal"}, "user": {"id": "U1"}, "team": {"id": "T0001"}}))
    assert _acked(bot.deliver("slash_commands", command_form("x", command="/other")))
    bot.idle()
    assert posted(mock, before) == []


# -- the endpoint under fuzzed bodies ------------------------------------------------------------------
json_shapes = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["type", "event", "payload", "command", "text", "x"]), inner, max_size=4),
    max_leaves=10,
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_shapes.map(lambda v: json.dumps(v).encode()),
    json_shapes.map(lambda v: b"payload=" + urllib.parse.quote(json.dumps(v)).encode()),
    st.integers(1, 4000).map(lambda n: b"[" * n + b"]" * n),
)


@settings(max_examples=40, deadline=timedelta(seconds=10), derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies, st.booleans(), st.sampled_from(["application/json", "application/x-www-form-urlencoded"]))
def test_the_endpoint_answers_any_body_with_a_status_below_500(http_bot: BotUnderTest, body: bytes, signed: bool, kind: str) -> None:
    """Unsigned: anything at all. Signed (as if by someone holding the secret): anything that is
    not a JSON object, the shapes Bolt's parser used to raise on. (A signed object is Slack's
    own; its fields are Bolt's business.)"""
    signed = signed and _utf8(body) and not _an_object(body, kind)
    headers = signed_headers(body) if signed else {}
    try:
        status, _ = post(http_bot.events_url, body, kind, headers)
    except urllib.error.URLError as exc:  # a dropped connection is what this must never do
        pytest.fail(f"the connection was dropped: {exc}")
    assert status in ((200, 400) if signed else (400, 401))


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _an_object(body: bytes, kind: str) -> bool:
    text = body.decode("utf-8")
    if kind != "application/json":
        form = urllib.parse.parse_qs(text)
        if "payload" not in form:
            return True  # a form without a payload is read as fields: Slack's own shape
        text = form["payload"][0]
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return False


def test_a_form_too_long_to_parse_quickly_is_refused_before_parsing(http_bot: BotUnderTest, mock: MockSlack) -> None:
    from adapters.slack.http_server import MAX_FORM_BYTES

    form = command_form("字" * (MAX_FORM_BYTES // 9 + 100), response_url=mock.response_url("long"))
    body, kind = http_body("slash_commands", form)
    assert len(body) > MAX_FORM_BYTES
    assert post(http_bot.events_url, body, kind, signed_headers(body))[0] == 413
    assert http_bot.command("docker pull is very slow") == 200  # a command of a usual size still is
