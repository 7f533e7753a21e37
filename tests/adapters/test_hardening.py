"""Bad input never crashes the bot or stalls it.

Property tests (hypothesis, derandomised so every run tries the same inputs)
throw random Unicode, control characters, platform markup, 100 KB messages,
malformed events and malformed CQ codes at the normaliser, the engine, the
command parser, the QQ segment and event parsers and conversation handler,
and the Slack payload readers; then at both running adapters over loopback,
which must still answer a real question after each batch of junk.

Properties are about what comes out (no exception, bounded size, nothing a
platform would refuse). The only clocks are stall guards: hypothesis's
per-example deadline, and a fixed corpus of known worst cases each run in a
forked process that is killed when it overruns. Both allow hundreds of times
what a call takes, so they fail only for a parser that goes quadratic on
crafted input (a regex holds the GIL, so a thread could not even notice).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import re
import time
import urllib.error
from datetime import timedelta
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.qq.addressing import pick_number
from adapters.qq.events import GroupMessage, MetaEvent, Reaction, parse_event, parse_fetched
from adapters.qq.handler import Handler
from adapters.qq.segments import MAX_SEGMENTS, MAX_TEXT_CHARS, Segment, parse_cq, parse_message, reply_message
from adapters.qq.service import QQService
from adapters.slack.gestures import split_pair as slack_split_pair
from adapters.slack.http_server import MAX_BODY_BYTES
from adapters.slack.payloads import read_click, read_command, read_said
from bot.chat.commands import CommandKind, parse_command, split_pair, strip_prefix
from bot.matching.engine import Engine
from bot.matching.normalize import MAX_MATCH_CHARS, normalize
from bot.matching.types import Mode, Thresholds
from bot.ops.config import Config, QQConfig, SlackConfig
from bot.ops.runtime import BotContext
from tests.support.fake_onebot import FakeOneBot, at, text
from tests.support.packs import write_pack
from tests.support.slack_mock import BotUnderTest, MockSlack, event_callback, http_body, mention, new_ts

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
HARD = settings(
    max_examples=60,
    deadline=timedelta(seconds=5),  # a stall guard, not a benchmark: an example takes milliseconds
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
LIVE = settings(HARD, max_examples=20)
BOT_QQ = 10001
PROBE_QQ_GROUP = 777
STALL_S = 10.0
CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")

# -- inputs -----------------------------------------------------------------------------
FRAGMENTS = (
    "[CQ:", "[CQ:at,qq=", "[CQ:reply,id=", "[CQ:face,id=14]", "]", ",", "=", "&#91;", "&#93;", "&#44;", "&amp;",
    "<@U0001>", "<@UBOT>", "<#C1|general>", "<!here>", "<http://x.y|", "<mailto:a@b|", ">", "|", "@bot", "@all",
    "/faq", "#faq", " list", " show ", " add ", "|", "docker", "pull", "-p", "--link", "/var/run/docker.sock",
    "好慢", "容器", "？", "\u3000", "\x00", "\x1b[31m", "\u202e", "\u200b", "\ufeff", "\ud800", "\U0001f600",
    "\r\n", "\n\n\n", "\t", "e\u0301", "ﬁ", "Ⅻ", "１２", "#2", " ",
)
fragment_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=40).map("".join)
any_unicode = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // max(len(unit), 1) + 1))[:size]


# 50–100 KB, built by repetition: hypothesis would take ages to draw that much at random
huge_text = st.builds(_repeat, fragment_text.filter(bool) | st.text(min_size=1, max_size=8), st.integers(50_000, 100_000))
chat_text = st.one_of(any_unicode, fragment_text, huge_text)

json_scalar = st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.floats(allow_nan=False) | chat_text
json_value = st.recursive(
    json_scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12
)


def _segment(kind: str, data: Any) -> dict:
    return {"type": kind, "data": data}


segment_dict = st.builds(
    _segment,
    st.sampled_from(["text", "at", "reply", "face", "image", "forward", "json"]) | st.text(max_size=6),
    st.dictionaries(st.sampled_from(["text", "qq", "id", "file", "url"]) | st.text(max_size=4), json_value, max_size=3) | json_value,
)
qq_message = st.one_of(chat_text, st.lists(segment_dict | json_value, max_size=8), json_value)


def _overlay(base: dict, changes: dict, drop: list) -> dict:
    event = {**base, **changes}
    for key in drop:
        event.pop(key, None)
    return event


QQ_EVENT_KEYS = [
    "post_type", "message_type", "sub_type", "self_id", "group_id", "user_id", "message_id", "message", "sender",
    "time", "notice_type", "likes", "is_add", "code", "operator_id", "meta_event_type",
]
qq_group_event = st.builds(
    _overlay,
    st.builds(
        lambda message, group: {
            "post_type": "message", "message_type": "group", "sub_type": "normal", "self_id": BOT_QQ, "group_id": group,
            "user_id": 20001, "message_id": 1, "message": message, "sender": {"user_id": 20001, "role": "member"}, "time": 1,
        },
        qq_message | st.lists(segment_dict, max_size=4).map(lambda segs: [at(BOT_QQ), *segs]),
        st.integers(1, 10),
    ),
    st.dictionaries(st.sampled_from(QQ_EVENT_KEYS), json_value, max_size=3),
    st.lists(st.sampled_from(QQ_EVENT_KEYS), max_size=2),
)
qq_event = st.one_of(qq_group_event, json_value, st.dictionaries(st.sampled_from(QQ_EVENT_KEYS), json_value, max_size=8))

SLACK_EVENT_KEYS = [
    "type", "user", "text", "ts", "thread_ts", "channel", "channel_type", "subtype", "bot_id", "bot_profile",
    "blocks", "files", "edited",
]
slack_event = st.builds(
    _overlay,
    st.builds(
        lambda text, kind: {"type": kind, "user": "U0001", "text": text, "ts": new_ts(), "channel": "C0001", "channel_type": "channel"},
        chat_text.map(lambda t: "<@UBOT> " + t) | chat_text,
        st.sampled_from(["app_mention", "message"]),
    ),
    st.dictionaries(st.sampled_from(SLACK_EVENT_KEYS), json_value, max_size=3),
    st.lists(st.sampled_from(SLACK_EVENT_KEYS), max_size=2),
)


def wire(value: Any) -> Any:
    """What a payload is after a trip through JSON, as every adapter receives it."""
    return json.loads(json.dumps(value))


# -- the engine and its text functions -------------------------------------------------------
@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    pack = write_pack(tmp_path_factory.mktemp("hardening") / "pack")
    return Engine.from_packs([str(pack)], Thresholds(reply=0.45, ambient=0.7, suggest=0.2))


@HARD
@given(chat_text)
@example("[CQ:a," * 17_000)
@example("<http:" * 20_000)
def test_normalise_is_total_and_bounded(raw: str) -> None:
    out = normalize(raw)
    assert len(out) <= MAX_MATCH_CHARS
    assert not out.startswith(" ") and not CONTROL.search(out) and "  " not in out


@pytest.fixture(scope="module")
def raw_engines(tmp_path_factory) -> list[Engine]:
    """Packs imported raw, Chinese and English, with their second opinion built: unsure
    messages take it (whole-entry scores, the encoder if installed, words read in English)."""
    from bot.matching.second import ensure_second_opinion
    from tests.matching.test_matcher_glossary import ZH_FAQ
    from tests.support.rawpack import write_raw_pack

    engines = [
        Engine.from_packs([str(write_raw_pack(tmp_path_factory.mktemp("raw-zh") / "zh-faq", faq=ZH_FAQ))]),
        Engine.from_packs([str(write_raw_pack(tmp_path_factory.mktemp("raw-en") / "gizmo-faq"))]),
    ]
    for built in engines:
        assert built.index.wants_second and ensure_second_opinion(built.index) is not None
    return engines


@HARD
@given(chat_text, st.sampled_from(list(Mode)))
def test_the_engine_answers_anything_within_its_own_rules(engine: Engine, raw: str, mode: Mode) -> None:
    _answers_within_its_rules(engine, raw, mode)


@HARD
@given(chat_text, st.sampled_from(list(Mode)))
def test_raw_packs_answer_anything_within_the_same_rules(raw_engines: list[Engine], raw: str, mode: Mode) -> None:
    for raw_engine in raw_engines:  # either script against either pack: the cross-script word score too
        _answers_within_its_rules(raw_engine, raw, mode)


def _answers_within_its_rules(engine: Engine, raw: str, mode: Mode) -> None:
    result = engine.ask(raw, mode)
    assert result.text == normalize(raw) and len(result.text) <= MAX_MATCH_CHARS
    assert len(result.candidates) <= engine.thresholds.max_candidates
    assert all(0.0 <= c.score <= 1.0 for c in result.candidates)
    # the ranking is the matcher's own (calibrated scores need not fall in its order), but an
    # answer is never given over a candidate it is surer of
    assert not result.answered or result.score == max(c.score for c in result.candidates)
    if result.answered:
        assert result.entry in engine.entries and result.score >= engine.thresholds.bar(mode)


@HARD
@given(chat_text)
def test_commands_parse_anything(raw: str) -> None:
    command = parse_command(raw)
    assert command.kind in CommandKind and len(command.arg) <= len(raw)
    args = strip_prefix(raw)
    assert args is None or len(args) < len(raw)
    pair = split_pair(raw)
    assert pair is None or all(part and len(part) < len(raw) for part in pair)


# -- QQ ---------------------------------------------------------------------------------------
@HARD
@given(qq_message)
@example("[CQ:at,qq=" * 20_000)
@example("[CQ:" + "a" * 100_000)
@example([{"type": "text", "data": {"text": "x"}}] * 5_000)
def test_qq_messages_of_any_shape_parse_into_bounded_segments(message: Any) -> None:
    segments = parse_message(wire(message))
    assert len(segments) <= MAX_SEGMENTS + 1  # a string's trailing text may follow the last code
    assert all(isinstance(s, Segment) and isinstance(s.type, str) for s in segments)
    assert all(isinstance(k, str) and isinstance(v, str) for s in segments for k, v in s.data)


@HARD
@given(qq_event)
def test_qq_events_of_any_shape_are_typed_or_ignored(data: Any) -> None:
    event = parse_event(wire(data))
    assert event is None or isinstance(event, (GroupMessage, MetaEvent, Reaction))
    if isinstance(event, GroupMessage):
        assert event.group_id and event.user_id
    fetched = parse_fetched(wire(data))
    assert fetched is None or isinstance(fetched.segments, tuple)


async def _no_quote(self_id: str, message_id: str) -> None:
    return None


@HARD
@given(qq_group_event)
def test_the_qq_handler_answers_any_group_message_within_qq_limits(engine: Engine, data: dict) -> None:
    event = parse_event(wire(data))
    if not isinstance(event, GroupMessage):
        return
    ctx = BotContext(config=Config(packs=("unused",)), engine=engine)
    out = asyncio.run(Handler(ctx, _no_quote).handle(event, time.perf_counter()))
    if out is not None:
        message = reply_message(out.record.question_id, out.body)
        assert message[-1]["type"] == "text" and len(message[-1]["data"]["text"]) <= MAX_TEXT_CHARS


@pytest.fixture(scope="module")
def onebot() -> Iterator[FakeOneBot]:
    with FakeOneBot(token="t", self_id=BOT_QQ) as fake:
        yield fake


@pytest.fixture(scope="module")
def qq_bot(onebot: FakeOneBot, engine: Engine) -> Iterator[QQService]:
    qq = QQConfig(enabled=True, ws_url=onebot.url, send_interval_s=0.0, request_timeout_s=2.0, reconnect_max_s=0.2)
    service = QQService(BotContext(config=Config(packs=("unused",), qq=qq), engine=engine), "t")
    service.start()
    onebot.wait_connected()
    yield service
    service.stop(5)


def qq_frame() -> st.SearchStrategy[str]:
    return st.one_of(
        qq_event.map(json.dumps),
        chat_text,  # not JSON at all
        st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
        qq_group_event.map(lambda e: json.dumps(e)[: len(json.dumps(e)) // 2]),  # cut mid-frame
    )


@LIVE
@given(st.lists(qq_frame(), min_size=1, max_size=5))
def test_the_running_qq_adapter_survives_junk_frames_and_still_answers(onebot: FakeOneBot, qq_bot: QQService, frames: list[str]) -> None:
    for frame in frames:
        onebot.send_raw(frame)
    asked = onebot.group_message(PROBE_QQ_GROUP, [at(BOT_QQ), text(" docker pull 好慢啊怎么办")])

    def answered() -> bool:
        return any(
            c.params.get("group_id") == PROBE_QQ_GROUP and c.params["message"][0].get("data", {}).get("id") in (asked, str(asked))
            for c in onebot.calls_of("send_group_msg")
        )

    assert onebot.wait_for(answered, timeout=STALL_S), "the QQ adapter stopped answering after junk frames"
    assert qq_bot.bot.links and onebot.connected == 1  # still the one connection: junk did not drop it


# -- Slack ------------------------------------------------------------------------------------
@HARD
@given(json_value | slack_event)
def test_slack_payloads_of_any_shape_are_read_or_ignored(data: Any) -> None:
    data = wire(data)
    said = read_said(data)
    assert said is None or (said.channel and said.user and said.ts)
    read_command(data)
    read_click(data)


@pytest.fixture(scope="module")
def slack(tmp_path_factory, engine: Engine) -> Iterator[tuple[MockSlack, BotUnderTest]]:
    slack_config = SlackConfig(mode="http", ambient_channels=("C0001",))
    config = Config(packs=("unused",), data_dir=str(tmp_path_factory.mktemp("slack-data")), slack=slack_config)
    with MockSlack() as mock:
        bot = BotUnderTest(mock, BotContext(config, engine), "http").start()
        yield mock, bot
        bot.stop()


def fits_slack(params: dict) -> bool:
    """What Slack accepts in chat.postMessage: text, block count, section and button sizes."""
    blocks = params.get("blocks") or []
    sections = [b["text"]["text"] for b in blocks if b.get("type") == "section"]
    buttons = [e for b in blocks if b.get("type") == "actions" for e in b.get("elements", [])]
    return (
        len(str(params.get("text", ""))) <= 40_000 and len(blocks) <= 50
        and all(len(s) <= 3000 for s in sections)
        and all(len(b.get("value", "")) <= 2000 and len(b["text"]["text"]) <= 75 for b in buttons)
    )


_event_ids = itertools.count(1)


@LIVE
@given(st.lists(slack_event, min_size=1, max_size=4))
def test_the_running_slack_adapter_survives_odd_events_and_still_answers(slack, events: list[dict]) -> None:
    mock, bot = slack
    for event in events:
        payload = event_callback(wire(event), f"EvJunk{next(_event_ids)}")
        oversized = len(http_body("events_api", payload)[0]) > MAX_BODY_BYTES
        try:
            status = bot.deliver("events_api", payload)
        except urllib.error.URLError:  # refused before the body was read: the server closed on it
            assert oversized, "the Slack endpoint dropped a request of a size Slack sends"
            continue
        assert status < 500 and (status == 413) == oversized
    probe = mention("docker pull is very slow")
    assert bot.event(probe, f"EvProbe{next(_event_ids)}") == 200

    def answered() -> bool:
        return any(c.params.get("thread_ts") == probe["ts"] for c in mock.calls("chat.postMessage"))

    deadline = time.monotonic() + STALL_S
    while not answered():
        assert time.monotonic() < deadline, "the Slack adapter stopped answering after odd events"
        time.sleep(0.01)
    bot.idle()
    bad = [c.params for c in mock.calls("chat.postMessage") if not fits_slack(c.params)]
    assert not bad, f"Slack would refuse: {str(bad[0])[:500]}"


# -- stalls: known worst cases, each under a generous clock ------------------------------------------
WORST_CASES: list[tuple[str, Callable[[str], Any], str]] = [
    ("normalize: unclosed CQ codes", normalize, "[CQ:" * 25_000),
    ("normalize: unclosed Slack links", normalize, "<http:" * 20_000),
    ("normalize: unclosed link labels", normalize, "<http://x|" * 10_000),
    ("normalize: mentions", normalize, "@a" * 50_000),
    ("parse_cq: unclosed codes with parameters", parse_cq, "[CQ:a," * 17_000),
    ("parse_cq: one unclosed code", parse_cq, "[CQ:a,b=" + "x" * 100_000),
    ("parse_cq: unclosed at codes", parse_cq, "[CQ:at,qq=" * 10_000),
    ("strip_prefix: long line", strip_prefix, "/faq " + "x" * 100_000),
    ("parse_command: long line", parse_command, "show " + "好" * 100_000),
    ("split_pair: a run of blanks with no bar", split_pair, "q" + " " * 200_000 + "a"),
    ("Slack split_pair: a run of blanks with no bar", slack_split_pair, "q" + " " * 200_000 + "a"),
    ("pick_number: a run of combining marks", pick_number, "a" + "\u0301\u0316" * 50_000),
    ("normalize: a run of combining marks", normalize, "a" + "\u0301\u0316" * 50_000),
    ("normalize: Tibetan vowels that decompose into marks", normalize, "\u0f73" * 100_000),
]


@pytest.mark.parametrize("name, call, raw", WORST_CASES, ids=[c[0] for c in WORST_CASES])
def test_no_crafted_message_stalls_a_parser(name: str, call: Callable[[str], Any], raw: str) -> None:
    worker = multiprocessing.get_context("fork").Process(target=call, args=(raw,), daemon=True)
    worker.start()
    worker.join(STALL_S)
    stalled = worker.is_alive()
    if stalled:
        worker.kill()
        worker.join()
    assert not stalled, f"{name}: still running after {STALL_S:.0f} s on a {len(raw) // 1000} KB message"
    assert worker.exitcode == 0, f"{name}: crashed"


def test_the_engine_reads_no_more_than_its_cap_of_a_huge_message(engine: Engine) -> None:
    tail = " docker pull 好慢啊怎么办"
    huge = "x " * 60_000 + tail  # the question sits past the cap: it must not be read
    assert engine.ask(huge).text == normalize(huge) and len(engine.ask(huge).text) == MAX_MATCH_CHARS
    assert "docker" not in engine.ask(huge).text
