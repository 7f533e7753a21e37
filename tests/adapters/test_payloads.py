"""Every real Slack and OneBot v11 payload in ../shared/payloads/ replayed through the
running bot: none may crash it, go unacknowledged, or get an answer where it should
stay quiet; each is checked against its own `expect`.

The payloads (read from the shared set beside the checkout, not vendored: some come from
AGPL-licensed projects; its README.md names each one's source) are as the platforms send them. `adapt` says what a replay changes: the bot's own
ids, the channel or group, the question where the sample is a question to the bot. Slack
payloads go through the real slack-bolt App over signed HTTP (Socket Mode for the raw
envelopes) against the mock Slack; OneBot payloads go as raw frames over a real websocket
from the fake OneBot implementation. Each payload gets a bot of its own (an ambient
channel or group when its context says so), so no memory of an earlier one can hide a
problem with the next.
"""
from __future__ import annotations

import copy
import json
import logging
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from adapters.qq.service import QQService
from adapters.slack.blocks import PICK_PREFIX, ActionValue
from bot.matching.engine import Engine
from bot.matching.types import Thresholds
from bot.ops.config import Config, QQConfig, SlackConfig
from bot.ops.runtime import BotContext
from tests.support import REPO
from tests.support.fake_onebot import FakeOneBot, at, sent_text, text, wait_until
from tests.support.slack_mock import BOT_ID, BOT_USER_ID, BotUnderTest, MockSlack, buttons, event_callback, mention, shown

PAYLOADS = REPO.parent / "shared" / "payloads"
if not (PAYLOADS / "README.md").is_file():
    pytest.skip(
        f"the real payloads are not at {PAYLOADS} (clone the repo beside shared/ to replay them)",
        allow_module_level=True,
    )
SLACK = sorted((PAYLOADS / "slack").glob("*.json"))
ONEBOT = sorted((PAYLOADS / "onebot").glob("*.json"))
EN_QUESTION = "docker pull is very slow"
ZH_QUESTION = "docker pull 好慢啊怎么办"
UNSURE_EN, UNSURE_ZH = "container", "容器"  # several candidates, once the bars are out of reach
ANSWER_MARK = "daemon.json"  # in both of the sample pack's answers to the questions above
POSTING = ("chat.postMessage", "chat.postEphemeral", "chat.update", "chat.delete", "response_url")
BOT_QQ = 10001
PROBE_GROUP = 4242


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_shared_payload_is_replayed() -> None:
    readme = (PAYLOADS / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| (?:slack|onebot) \| (\w+) \|", readme, re.M))
    assert listed and listed == {p.stem for p in SLACK + ONEBOT}


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> dict[str, Engine]:
    from tests.support.packs import write_pack

    folder = write_pack(tmp_path_factory.mktemp("payloads") / "pack")
    return {
        "sure": Engine.from_packs([str(folder)], Thresholds(reply=0.45, ambient=0.7, suggest=0.2)),
        # answers nothing, offers candidates for anything: for the payloads that pick from a list
        "unsure": Engine.from_packs([str(folder)], Thresholds(reply=1.0, ambient=1.0, suggest=0.01, margin=0.0)),
    }


def replace_values(value: Any, exact: dict, inside: dict) -> Any:
    """`value` with every string (or number) equal to a key of `exact` swapped for its value,
    and every key of `inside` replaced within strings."""
    if isinstance(value, dict):
        return {k: replace_values(v, exact, inside) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_values(v, exact, inside) for v in value]
    if isinstance(value, (str, int)) and not isinstance(value, bool) and value in exact:
        return exact[value]
    if isinstance(value, str):
        for old, new in inside.items():
            value = value.replace(old, new)
    return value


# -- Slack ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slack_mock() -> Iterator[MockSlack]:
    with MockSlack() as mock:
        yield mock


def posts(mock: MockSlack) -> list:
    return [c for c in mock.calls() if c.method in POSTING]


def ephemeral(mock: MockSlack) -> list:
    return [c for c in posts(mock) if c.method in ("chat.postEphemeral", "response_url")]


class SlackReplay:
    """One payload made ready for delivery, with what the bot should do."""

    def __init__(self, data: dict, mock: MockSlack):
        self.data, self.mock, self.adapt = data, mock, data["adapt"]
        original = replace_values(
            copy.deepcopy(data["original"]),
            {**{k: (BOT_USER_ID if v == "UBOT" else v) for k, v in self.adapt.get("ids", {}).items()},
             **{b: BOT_ID for b in self.adapt.get("bot_id", [])}},
            {u: BOT_USER_ID for u in self.adapt.get("bot_user", [])},
        )
        kind = data.get("envelope_type")
        if kind == "raw_envelope":
            self.transport = "socket"
            kind, payload = original.get("type", "events_api"), original["payload"]
        else:
            self.transport = "http"
            # a slash command sample holds its form both raw and parsed: the parsed one is posted as a form
            payload = original.get("as_socket_mode_payload", original)
        if kind == "events_api":
            if data.get("wrap_as_event_callback"):
                payload = event_callback(payload)
            payload.setdefault("type", "event_callback")
            payload["event_id"] = f"Ev{data['id']}"  # samples share ids; each replay is a new event
        self.kind, self.payload = kind, payload
        if "response_url" in payload:
            payload["response_url"] = mock.response_url(data["id"])
        if self.adapt.get("command"):
            payload["command"] = self.adapt["command"]
        if "text" in self.adapt:
            payload["text"] = self.adapt["text"]
        event = payload.get("event") if isinstance(payload.get("event"), dict) else None
        self.event = event
        if event is not None:
            self._adapt_event(event)

    def _adapt_event(self, event: dict) -> None:
        adapt = self.adapt
        if adapt.get("question") or adapt.get("to_app_mention"):
            event.setdefault("channel", "C0001")  # a sample cut from a channel's history names none
        if adapt.get("masked"):
            event.update(user="U0001", team="T0001", channel=event.get("channel") or "C0001")
            event["text"] = f"<@{BOT_USER_ID}> {EN_QUESTION}"
        if adapt.get("to_app_mention"):
            event["type"] = "app_mention"
            event["text"] = f"<@{BOT_USER_ID}> {EN_QUESTION} " + (event.get("text") if adapt.get("question_with_links") else "")
        elif adapt.get("question_mid"):
            event["text"] = f"docker pull <@{BOT_USER_ID}> is very slow"
        elif adapt.get("question") or adapt.get("question_in"):
            target = event[adapt["question_in"]] if adapt.get("question_in") else event
            mark = f"<@{BOT_USER_ID}>"
            said = target.get("text") or ""
            target["text"] = f"{mark} {EN_QUESTION}" if mark in said else EN_QUESTION

    @property
    def channel(self) -> str:
        p, e = self.payload, self.event or {}
        return str(
            e.get("channel") or (e.get("item") or {}).get("channel") or p.get("channel_id")
            or (p.get("channel") or {}).get("id") or (p.get("container") or {}).get("channel_id") or "C0001"
        )


def start_slack(mock: MockSlack, engine: Engine, tmp_path: Path, transport: str, ambient: tuple[str, ...]) -> BotUnderTest:
    config = Config(data_dir=str(tmp_path / "data"), slack=SlackConfig(mode=transport, ambient_channels=ambient))
    return BotUnderTest(mock, BotContext(config, engine), transport).start()


def acked(status: Any) -> bool:
    return status == 200 if isinstance(status, int) else isinstance(status, dict)


def deliver(bot: BotUnderTest, kind: str, payload: dict) -> None:
    assert acked(bot.deliver(kind, payload)), "not acknowledged"
    bot.idle()


def prepare_click(replay: SlackReplay, bot: BotUnderTest, mock: MockSlack, engines: dict, monkeypatch) -> Callable[[], None]:
    """Make the bot post the message a click sample clicks on, and point the sample at it."""
    payload, channel = replay.payload, replay.channel
    picking = "pick" in replay.adapt
    if picking:
        monkeypatch.setattr(engines["sure"], "thresholds", engines["unsure"].thresholds)
    asked = mention(UNSURE_EN if picking else EN_QUESTION, channel=channel, user=payload["user"]["id"])
    deliver(bot, "events_api", event_callback(asked, f"EvAsk{replay.data['id']}"))
    [offer] = mock.calls("chat.postMessage")
    shown_buttons = buttons(offer.params["blocks"])
    if picking:
        button = [b for b in shown_buttons if b["action_id"].startswith(PICK_PREFIX)][replay.adapt["pick"] - 1]
    else:
        button = next(b for b in shown_buttons if b["action_id"] == replay.adapt["action"])
    payload["actions"] = [{**payload["actions"][0], "action_id": button["action_id"], "value": button.get("value", ""), "type": "button"}]
    ts = offer.response["ts"]
    payload["container"].update(message_ts=ts, channel_id=channel)
    payload["channel"] = {"id": channel, "name": "general"}
    if "message" in payload:
        payload["message"].update(ts=ts, thread_ts=asked["ts"], user=BOT_USER_ID, bot_id=BOT_ID)
    chosen = ActionValue.decode(button["value"]).entry_id if picking else ""
    mock.reset()

    def check_pick() -> None:
        [answer] = mock.calls("chat.postMessage")
        assert answer.params.get("thread_ts") == asked["ts"], "the pick was not answered in the question's thread"
        assert engines["sure"].find(chosen).answer_en[:20] in shown(answer).replace("&lt;", "<").replace("&gt;", ">")

    return check_pick


@pytest.mark.parametrize("path", SLACK, ids=[p.stem for p in SLACK])
def test_slack_payload(path: Path, slack_mock: MockSlack, engines: dict, tmp_path: Path, monkeypatch, caplog) -> None:
    data = load(path)
    mock = slack_mock
    mock.reset()
    replay = SlackReplay(data, mock)
    ambient = (replay.channel,) if data["context"] == "ambient" else ()
    bot = start_slack(mock, engines["sure"], tmp_path, replay.transport, ambient)
    try:
        with caplog.at_level(logging.WARNING):
            check_click = None
            if replay.kind == "interactive" and ("pick" in replay.adapt or "action" in replay.adapt):
                check_click = prepare_click(replay, bot, mock, engines, monkeypatch)
            if data["adapt"].get("preceded_by_original") or data["adapt"].get("same_ts_as"):
                first = copy.deepcopy(replay.payload)
                if data["adapt"].get("same_ts_as"):
                    first = SlackReplay(load(path.with_name(data["adapt"]["same_ts_as"] + ".json")), mock).payload
                first["event"].pop("edited", None)
                first["event_id"] = f"EvFirst{data['id']}"
                deliver(bot, "events_api", first)
            deliver(bot, replay.kind, replay.payload)
            check_slack(data["expect"], replay, mock, check_click)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "an error was logged"
    finally:
        bot.stop()


def check_slack(expect: str, replay: SlackReplay, mock: MockSlack, check_click: Optional[Callable[[], None]]) -> None:
    sent = posts(mock)
    event = replay.event or {}
    if expect == "quiet":
        assert sent == [], f"the bot spoke: {[c.method for c in sent]}"
    elif expect in ("answer", "answer_in_thread", "answer_ambient", "answer_ambient_in_thread", "no_second_answer"):
        [answer] = sent
        assert answer.method == "chat.postMessage" and answer.params["channel"] == replay.channel
        assert ANSWER_MARK in shown(answer)
        if expect.endswith("in_thread"):
            assert answer.params.get("thread_ts") == event["thread_ts"]
    elif expect == "quiet_or_answer_once":
        assert len(sent) <= 1
    elif expect in ("ephemeral_answer", "ephemeral_usage", "ephemeral_thanks"):
        assert len(sent) == 1 and sent == ephemeral(mock), f"not one private reply: {[c.method for c in sent]}"
        body = shown(sent[0])
        assert {"ephemeral_answer": ANSWER_MARK, "ephemeral_usage": "/faq", "ephemeral_thanks": "hank"}[expect] in body
    elif expect == "pick_in_thread":
        assert check_click is not None
        check_click()
    else:
        pytest.fail(f"unknown expectation {expect}")


# -- OneBot ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def onebot() -> Iterator[FakeOneBot]:
    with FakeOneBot(token="t", self_id=BOT_QQ) as fake:
        yield fake


class OneBotReplay:
    def __init__(self, data: dict):
        self.data, adapt = data, data["adapt"]
        original = copy.deepcopy(data["original"])
        if adapt.get("wrap_group_string"):
            original = {
                "post_type": "message", "message_type": "group", "sub_type": "normal", "self_id": BOT_QQ,
                "group_id": 5151, "user_id": 20005, "message_id": 515151, "time": 1,
                "message": original["message_segment_string"], "raw_message": original["message_segment_string"],
                "sender": {"user_id": 20005, "role": "member"},
            }
        ids = {int(b) for b in adapt.get("bot", [])}
        if isinstance(original.get("self_id"), int):
            ids.add(original["self_id"])
        exact = {**{i: BOT_QQ for i in ids}, **{str(i): str(BOT_QQ) for i in ids}}
        inside = {f"qq={i}": f"qq={BOT_QQ}" for i in ids}
        self.event = event = replace_values(original, exact, inside)
        self.quoted_id = str(adapt.get("quoted_id") or "")
        self.group = event.get("group_id")
        at_question = [at(BOT_QQ), text(f" {ZH_QUESTION}")]
        message = event.get("message")
        if adapt.get("to_group_string_at_question"):
            event.update(message_type="group", group_id=5252, sub_type="normal")
            event["message"] = f"[CQ:at,qq={BOT_QQ}] {ZH_QUESTION} " + message
            self.group = 5252
        elif adapt.get("at_bot_question_into_bench"):
            # the sample's keyboard-mash words make way for the question, between its faces and escapes
            words = iter([ZH_QUESTION])
            event["message"] = f"[CQ:at,qq={BOT_QQ}] " + re.sub(r"[A-Za-z]{8,}", lambda m: next(words, ""), message)
        elif adapt.get("cq_reply_at_bot_only"):
            event["message"] = f"[CQ:reply,id={self.quoted_id}][CQ:at,qq={BOT_QQ}]"
        elif adapt.get("cq_reply_selfat_then_bot"):
            event["message"] = f"[CQ:reply,id={self.quoted_id}][CQ:at,qq={adapt['quoted_question_by']}] [CQ:at,qq={BOT_QQ}]"
        elif adapt.get("second_at_to_bot"):
            ats = [s for s in message if s.get("type") == "at"]
            ats[1]["data"]["qq"] = str(BOT_QQ)
        elif adapt.get("append_at_question"):
            event["message"] = (message if isinstance(message, list) else [text(message)]) + at_question
        elif adapt.get("prepend_at_question"):
            event["message"] = at_question + (message if isinstance(message, list) else [text(message)])
        elif adapt.get("blank_text"):
            for seg in message:
                if seg.get("type") == "text":
                    seg["data"]["text"] = " "
        elif adapt.get("question"):
            self._ask_in(event)

    def _ask_in(self, event: dict) -> None:
        message = event["message"]
        if isinstance(message, str):  # a CQ string: the codes stay, the words become the question
            event["message"] = re.sub(r"(\])?[^\[\]]*$", lambda m: (m.group(1) or "") + " " + ZH_QUESTION, message, count=1)
            return
        words = [s for s in message if s.get("type") == "text" and s.get("data", {}).get("text", "").strip()]
        if words:
            for seg in words:
                seg["data"]["text"] = " "
            words[-1]["data"]["text"] = f" {ZH_QUESTION}"
        else:
            message.append(text(f" {ZH_QUESTION}"))


def group_sends(onebot: FakeOneBot, since: int) -> list:
    return [c for c in onebot.calls[since:] if c.action in ("send_group_msg", "send_msg", "send_private_msg")]


@pytest.mark.parametrize("path", ONEBOT, ids=[p.stem for p in ONEBOT])
def test_onebot_payload(path: Path, onebot: FakeOneBot, engines: dict, caplog) -> None:
    data = load(path)
    replay = OneBotReplay(data)
    adapt, expect = data["adapt"], data["expect"]
    engine = engines["unsure" if adapt.get("preceded_by_list") else "sure"]
    ambient = (str(replay.group),) if data["context"] == "ambient" and replay.group is not None else ()
    qq = QQConfig(enabled=True, ws_url=onebot.url, send_interval_s=0.0, request_timeout_s=2.0, reconnect_max_s=0.1, ambient_groups=ambient)
    service = QQService(BotContext(config=Config(packs=("unused",), qq=qq), engine=engine), "t")
    service.start()
    try:
        wait_until(service.connected)
        if replay.quoted_id:
            onebot.store_message(int(replay.quoted_id), int(adapt["quoted_question_by"]), [text(ZH_QUESTION)], group_id=replay.group or 0)
        if adapt.get("reply_to_bot_answer"):
            onebot.store_message(int(adapt["reply_to_bot_answer"]), BOT_QQ, [text("配置镜像加速器。")], group_id=replay.group)
        offered: list = []
        if adapt.get("preceded_by_list"):
            asked = onebot.group_message(replay.group, [at(BOT_QQ), text(f" {UNSURE_ZH}")], user_id=replay.event["user_id"])
            onebot.wait_for(lambda: any(c.params["message"][0]["data"]["id"] in (asked, str(asked)) for c in onebot.calls_of("send_group_msg")))
            offered = [c.entry for c in engine.ask(UNSURE_ZH).candidates]
        since = len(onebot.calls)
        with caplog.at_level(logging.WARNING):
            onebot.send_raw(json.dumps(replay.event, ensure_ascii=False))
            probe = onebot.group_message(PROBE_GROUP, [at(BOT_QQ), text(f" {ZH_QUESTION}")])
            assert onebot.wait_for(lambda: any(c.params.get("group_id") == PROBE_GROUP for c in group_sends(onebot, since)), timeout=10), (
                "the bot stopped answering after this payload"
            )
            wait_until(lambda: not service.bot._handling and not service.bot.outbox.tasks)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "an error was logged"
        sent = [c for c in group_sends(onebot, since) if c.params.get("group_id") != PROBE_GROUP]
        for call in sent:  # whatever is sent is a quote and text: nothing a user wrote becomes markup
            assert {s["type"] for s in call.params["message"]} <= {"reply", "text"}
        check_onebot(expect, replay, sent, offered, probe)
        assert service.connected() and onebot.connected == 1
    finally:
        service.stop(5)
        onebot.wait_for(lambda: onebot.connected == 0)


def check_onebot(expect: str, replay: OneBotReplay, sent: list, offered: list, probe: int) -> None:
    if expect == "quiet":
        assert sent == [], f"the bot spoke: {[sent_text(c)[:80] for c in sent]}"
        return
    assert len(sent) == 1, f"{len(sent)} replies"
    [reply] = sent
    assert reply.params.get("group_id") in (replay.group, str(replay.group))
    body = sent_text(reply)
    if expect == "answer":
        assert ANSWER_MARK in body
    elif expect == "answer_quoted":
        assert ANSWER_MARK in body
        assert str(reply.params["message"][0]["data"]["id"]) == replay.quoted_id, "the reply does not quote the question"
    elif expect == "pick_2":
        assert offered[1].answer[:15] in body
    else:
        pytest.fail(f"unknown expectation {expect}")
