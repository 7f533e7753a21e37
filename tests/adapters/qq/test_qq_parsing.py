"""The pure half of the QQ adapter: segments, CQ codes, events, who a message is for."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.qq.addressing import address, pick_number
from adapters.qq.events import GroupMessage, MetaEvent, Reaction, as_number, parse_event, parse_fetched, qq_id
from adapters.qq.segments import MAX_TEXT_CHARS, Segment, parse_cq, parse_message, plain_text, render_cq, reply_message, text
from tests.support.fake_onebot import at, face, image, reply
from tests.support.fake_onebot import text as text_seg

BOT = "10001"


# -- segments --------------------------------------------------------------------------
def test_array_message_keeps_types_and_reads_ids_of_either_kind():
    segs = parse_message([at(10001), text_seg(" hi "), at("20002"), {"type": "face", "data": {"id": 14}}])
    assert [s.type for s in segs] == ["at", "text", "at", "face"]
    assert segs[0].get("qq") == "10001" and segs[2].get("qq") == "20002" and segs[3].get("id") == "14"


def test_cq_string_is_split_into_segments_and_unescaped():
    segs = parse_cq("问 &#91;a&#93; &amp; b[CQ:at,qq=10001][CQ:image,file=x&#44;y.png,url=http://h/?a=1&amp;b=2]尾")
    assert segs == (
        text("问 [a] & b"),
        Segment("at", (("qq", "10001"),)),
        Segment("image", (("file", "x,y.png"), ("url", "http://h/?a=1&b=2"))),
        text("尾"),
    )


def test_escaped_escape_stays_literal():
    # "&amp;#91;" is the text "&#91;", not "["
    assert plain_text(parse_cq("&amp;#91;")) == "&#91;"


@pytest.mark.parametrize("junk", [None, 42, {"type": 5}, [None, "x", {"data": {}}], [{"type": "text", "data": "nope"}]])
def test_malformed_messages_are_read_safely(junk):
    segs = parse_message(junk)
    assert all(isinstance(s, Segment) for s in segs)
    assert plain_text(segs) == ""


def test_nested_values_in_segment_data_are_dropped():
    (seg,) = parse_message([{"type": "json", "data": {"data": {"a": 1}, "id": 7, "ok": True, "none": None}}])
    assert dict(seg.data) == {"id": "7", "ok": "true", "none": ""}


def test_unterminated_cq_code_is_text():
    assert parse_cq("[CQ:at,qq=1 and more") == (text("[CQ:at,qq=1 and more"),)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.text(max_size=20).map(text),
    st.tuples(st.sampled_from(["at", "face", "image", "reply"]), st.text(max_size=10)).map(
        lambda p: Segment(p[0], (("id", p[1]), ("qq", p[1] + ",[]&")))),
), max_size=6))
def test_cq_rendering_round_trips(segments):
    # adjacent text segments merge in a string; compare the merged form
    merged: list[Segment] = []
    for seg in segments:
        if seg.type == "text" and merged and merged[-1].type == "text":
            merged[-1] = text(merged[-1].get("text") + seg.get("text"))
        elif not (seg.type == "text" and not seg.get("text")):
            merged.append(seg)
    assert list(parse_cq(render_cq(segments))) == merged


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["", "123", "-9"]))
def test_outgoing_text_never_becomes_markup(body, quote):
    message = reply_message(quote, body)
    assert [s["type"] for s in message] == (["reply", "text"] if quote else ["text"])
    assert message[-1]["data"] == {"text": body}


def test_injection_attempts_stay_inside_one_text_segment():
    body = "看这里[CQ:at,qq=all] [CQ:image,file=http://evil/x.png][CQ:face,id=1] @全体成员"
    message = reply_message("77", body)
    assert message == [{"type": "reply", "data": {"id": "77"}}, {"type": "text", "data": {"text": body}}]


def test_long_replies_are_clipped():
    (seg,) = reply_message("", "x" * (MAX_TEXT_CHARS * 2))
    assert len(seg["data"]["text"]) == MAX_TEXT_CHARS and seg["data"]["text"].endswith("…")


# -- events ------------------------------------------------------------------------------
def _group_event(**over):
    event = {
        "time": 1700000000, "self_id": 10001, "post_type": "message", "message_type": "group", "sub_type": "normal",
        "message_id": 55, "group_id": 123, "user_id": 20001, "message": [text_seg("hi")], "raw_message": "hi",
        "sender": {"user_id": 20001, "role": "admin"},
    }
    event.update(over)
    return event


@pytest.mark.parametrize("ids", [int, str, float])
def test_group_message_ids_arrive_as_numbers_or_strings(ids):
    event = parse_event(_group_event(self_id=ids(10001), group_id=ids(123), user_id=ids(20001), message_id=ids(55)))
    assert isinstance(event, GroupMessage)
    assert (event.self_id, event.group_id, event.user_id, event.message_id) == ("10001", "123", "20001", "55")
    assert event.sender_role == "admin" and plain_text(event.segments) == "hi"


def test_string_format_message_event():
    event = parse_event(_group_event(message="[CQ:at,qq=10001] 你好"))
    assert [s.type for s in event.segments] == ["at", "text"]


@pytest.mark.parametrize("data", [
    _group_event(group_id=None), _group_event(user_id=True), _group_event(message_type="private"),
    _group_event(post_type="message_sent"), {"post_type": "request", "request_type": "friend"},
    {"post_type": "notice", "notice_type": "group_increase", "group_id": 1}, "not a dict", [], None,
])
def test_events_the_bot_does_not_handle_are_none(data):
    assert parse_event(data) is None


def test_meta_events_are_typed():
    assert parse_event({"post_type": "meta_event", "meta_event_type": "heartbeat", "self_id": 1}) == MetaEvent("1", "heartbeat", "")
    assert parse_event({"post_type": "meta_event", "meta_event_type": "lifecycle", "sub_type": "connect"}).sub_type == "connect"


def test_napcat_emoji_like_notice():
    event = parse_event({
        "post_type": "notice", "notice_type": "group_msg_emoji_like", "self_id": 10001, "group_id": 123,
        "user_id": 30003, "message_id": 99, "likes": [{"emoji_id": "76", "count": 1}, {"emoji_id": 124}],
    })
    assert event == Reaction("10001", "123", "99", "30003", ("76", "124"), True)
    removed = parse_event({"post_type": "notice", "notice_type": "group_msg_emoji_like", "group_id": 1,
                           "user_id": 2, "message_id": 3, "likes": [{"emoji_id": "76"}], "is_add": False})
    assert removed.added is False


def test_lagrange_reaction_notice():
    event = parse_event({
        "post_type": "notice", "notice_type": "reaction", "sub_type": "remove", "self_id": 10001, "group_id": "123",
        "message_id": "99", "operator_id": 30003, "code": "76", "count": 0,
    })
    assert event == Reaction("10001", "123", "99", "30003", ("76",), False)


@pytest.mark.parametrize("data", [
    {"post_type": "notice", "notice_type": "reaction", "group_id": 1, "message_id": 2, "operator_id": 3},
    {"post_type": "notice", "notice_type": "group_msg_emoji_like", "group_id": 1, "message_id": 2, "likes": "x"},
    {"post_type": "notice", "notice_type": "group_msg_emoji_like", "message_id": 2, "user_id": 3, "likes": [{"emoji_id": 1}]},
])
def test_incomplete_reactions_are_none(data):
    assert parse_event(data) is None


def test_fetched_message_reads_sender_id_either_way():
    assert parse_fetched({"message_id": 5, "sender": {"user_id": 7}, "message": "a&#91;b"}).user_id == "7"
    fetched = parse_fetched({"message_id": "5", "user_id": "8", "message": [text_seg("q")]})
    assert (fetched.message_id, fetched.user_id, plain_text(fetched.segments)) == ("5", "8", "q")
    assert parse_fetched(None) is None


def test_ids_go_back_as_numbers_when_they_are_numbers():
    assert as_number("123") == 123 and as_number("abc") == "abc"
    assert qq_id({"x": 1}) == "" and qq_id(12.0) == "12"


# -- addressing ----------------------------------------------------------------------------
def _segs(*items):
    return parse_message(list(items))


@pytest.mark.parametrize("message", [
    [at(10001), text_seg(" docker pull 好慢")],
    [text_seg("docker pull "), at("10001"), text_seg(" 好慢")],
    [text_seg("docker pull 好慢 "), at(10001)],
])
def test_mention_anywhere_counts_and_is_removed(message):
    addr = address(_segs(*message), BOT)
    assert addr.mentioned and addr.reply_to == "" and addr.text == "docker pull 好慢"


def test_other_mentions_and_at_all_do_not_address_the_bot():
    addr = address(_segs(at("all"), text_seg(" 开会"), at(30003)), BOT)
    assert not addr.mentioned and addr.text == "开会"


def test_auto_mention_after_a_quote_is_stripped():
    addr = address(_segs(reply(77), at(20002), text_seg(" "), at(10001), text_seg(" ")), BOT)
    assert addr.mentioned and addr.reply_to == "77" and addr.reply_author == "20002" and addr.text == ""


def test_quote_of_the_bot_carries_the_bot_as_auto_mention():
    addr = address(_segs(reply(88), at(10001), text_seg(" 2")), BOT)
    assert addr.mentioned and addr.reply_author == BOT and addr.text == "2"


def test_quote_without_auto_mention_has_no_author():
    addr = address(_segs(reply(88), text_seg("没有 @")), BOT)
    assert not addr.mentioned and addr.reply_author == "" and addr.text == "没有 @"


def test_images_and_faces_carry_no_words():
    assert address(_segs(image(), face()), BOT).text == ""


def test_unknown_self_id_never_matches():
    assert not address(_segs(at(""), text_seg("x")), "").mentioned


@pytest.mark.parametrize("raw,number", [("2", 2), (" #3 ", 3), ("２", 2), ("1.", 1), ("10", 10), ("2号", 2),
                                        ("", None), ("2 个", None), ("123", None), ("-1", None), ("二", None)])
def test_pick_number(raw, number):
    assert pick_number(raw) == number
