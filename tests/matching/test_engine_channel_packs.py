"""One bot account serving two groups with different packs: `slack.channel_packs`
and `qq.group_packs` limit a channel or group to some of the loaded packs; every
other channel or group is answered from all of them. Through the real adapters
(slack-bolt against the mock Slack, the QQ service against the fake OneBot)."""
from __future__ import annotations

import pytest

from bot.ops.config import ChannelPacks, Config, ConfigError, GroupPacks, QQConfig, SlackConfig, load_config
from bot.matching.engine import Engine
from bot.ops.runtime import BotContext
from tests.support.fake_onebot import FakeOneBot, at, text, wait_until
from tests.support.fake_onebot import sent_text as body
from tests.support.slack_mock import BotUnderTest, MockSlack, mention, shown
from tests.matching.test_engine_packs import INGRESS, two_packs  # noqa: F401  (fixture)

DOCKER_QUESTION = "docker pull 好慢啊"


@pytest.fixture
def engine(two_packs) -> Engine:  # noqa: F811
    return Engine.from_packs(list(two_packs))


def test_slack_channel_limited_to_one_pack(engine, tmp_path):
    config = Config(
        packs=tuple(p.path for p in engine.packs),
        data_dir=str(tmp_path / "data"),
        slack=SlackConfig(mode="http", channel_packs=(ChannelPacks("CK8S", ("k8s-faq",)),)),
    )
    with MockSlack() as mock:
        running = BotUnderTest(mock, BotContext(config, engine), "http").start()
        try:
            running.event(mention(DOCKER_QUESTION, channel="CK8S"))
            running.event(mention(DOCKER_QUESTION, channel="CDOCKER"))
            calls = mock.wait_for("chat.postMessage", 2)
            by_channel = {c.params["channel"]: shown(c) for c in calls}
            assert "镜像加速器" not in by_channel["CK8S"] and "registry-mirrors" not in by_channel["CK8S"]
            assert "镜像加速器" in by_channel["CDOCKER"]  # other channels: every pack
        finally:
            running.stop()


def test_qq_group_limited_to_one_pack(engine, qq_services):
    token, bot_id, k8s_group, other_group = "s3cret", 10001, 111, 222
    with FakeOneBot(token=token, self_id=bot_id) as fake:
        qq = QQConfig(
            ws_url=fake.url, send_interval_s=0.0, request_timeout_s=2.0, reconnect_max_s=0.2,
            group_packs=(GroupPacks(str(k8s_group), ("k8s-faq",)),),
        )
        qq_services(BotContext(config=Config(packs=tuple(p.path for p in engine.packs), qq=qq), engine=engine), token)
        fake.wait_connected()
        fake.group_message(k8s_group, [at(bot_id), text(" " + DOCKER_QUESTION)], 20001)
        fake.group_message(other_group, [at(bot_id), text(" " + DOCKER_QUESTION)], 20001)
        fake.group_message(k8s_group, [at(bot_id), text(" " + INGRESS)], 20001)
        sends = fake.wait_calls("send_group_msg", 3)
        wait_until(lambda: len(fake.calls_of("send_group_msg")) == 3)
        k8s_replies = [body(c) for c in sends if c.params["group_id"] == k8s_group]
        other = [body(c) for c in sends if c.params["group_id"] == other_group]
        assert not any("镜像加速器" in r for r in k8s_replies)
        assert any("ingress-nginx" in r for r in k8s_replies)
        assert other and "镜像加速器" in other[0]


def test_config_names_loaded_packs_only(tmp_path, two_packs):  # noqa: F811
    docker, k8s = two_packs
    good = tmp_path / "good.yaml"
    good.write_text(
        f"packs: [{docker}, {k8s}]\nqq:\n  group_packs:\n    - group: 123456\n      packs: [k8s-faq]\n", encoding="utf-8"
    )
    assert load_config(str(good)).qq.group_packs == (GroupPacks("123456", ("k8s-faq",)),)
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"packs: [{docker}]\nslack:\n  channel_packs:\n    - channel: C1\n      packs: [k8s-faq]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(str(bad))
    assert "slack.channel_packs[0].packs" in str(err.value)
