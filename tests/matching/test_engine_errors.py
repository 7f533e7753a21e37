"""Confident wrong answers on pasted errors (issue 14): a message that reports a
kind of failure the entry never mentions is not answered from a shared path or
keyword; the error the entry is about still is."""
from __future__ import annotations


import pytest

from bot.matching.engine import Engine
from bot.matching.matcher import ERROR_KINDS, error_kinds
from bot.matching.normalize import normalize
from bot.matching.types import Decision, Mode
from tests.support import REPO

DOCKER_PACK = REPO / "knowledge" / "docker-faq"
NOT_RUNNING = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
PERMISSION = (
    "Got permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: "
    "dial unix /var/run/docker.sock: connect: permission denied"
)


def kinds(text: str) -> set[str]:
    return {ERROR_KINDS[i][0] for i in error_kinds(normalize(text))}


def test_error_kinds_are_read_in_both_languages():
    assert kinds(NOT_RUNNING) == {"cannot-connect", "not-running"}
    assert kinds(PERMISSION) == {"permission"}
    assert kinds("Bind for 0.0.0.0:80 failed: port is already allocated") == {"in-use"}
    assert kinds("容器里访问外网一直超时") == {"timeout"}
    assert kinds("执行脚本提示没有权限") == {"permission"}
    assert kinds("how do I change the default theme") == set()


def test_the_sample_pack_does_not_answer_another_error_through_the_socket_path(sample_pack_dir):
    sample_engine = Engine.from_packs([str(sample_pack_dir)])  # the default thresholds
    other = sample_engine.ask(NOT_RUNNING, Mode.REPLY)
    assert other.decision is not Decision.ANSWER, other
    assert sample_engine.ask(NOT_RUNNING, Mode.AMBIENT).decision is Decision.NONE
    own = sample_engine.ask(PERMISSION, Mode.REPLY)
    assert own.decision is Decision.ANSWER and own.entry.id == "sock-permission"


@pytest.fixture(scope="module")
def docker_engine() -> Engine:
    return Engine.from_packs([str(DOCKER_PACK)])


def test_the_docker_pack_does_not_answer_daemon_not_running_with_the_docker_group_entry(docker_engine):
    result = docker_engine.ask(NOT_RUNNING, Mode.REPLY)
    assert result.decision is not Decision.ANSWER, result
    assert docker_engine.ask(NOT_RUNNING, Mode.AMBIENT).decision is Decision.NONE
    own = docker_engine.ask(PERMISSION, Mode.REPLY)
    assert own.decision is Decision.ANSWER and own.entry.id == "docker-sock-permission-denied"


def test_the_docker_pack_is_not_sure_an_empty_mount_is_the_mac_only_entry(docker_engine):
    result = docker_engine.ask("docker run -v 挂载后目录是空的", Mode.AMBIENT)
    assert result.decision is Decision.NONE
