"""The console as a person uses it: `faqbot chat` and `faqbot run` driven as real
processes on a pseudo-terminal (pexpect), and through pipes."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pexpect = pytest.importorskip("pexpect", reason="pip install pexpect (in the test extras)")

from tests.chat.test_i18n import _entries  # noqa: E402  the bilingual pack: sections, English titles
from tests.support.packs import write_pack  # noqa: E402

FAQBOT = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]
PROMPT = "you> "
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\r")


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "bilingual", _entries())


class Console:
    """One `faqbot` process on a pseudo-terminal."""

    def __init__(self, args: list[str], cwd: Path):
        self.proc = pexpect.spawn(FAQBOT[0], FAQBOT[1:] + args, cwd=str(cwd), encoding="utf-8", timeout=30,
                                  dimensions=(50, 400))
        self.banner = self.turn()

    def turn(self) -> str:
        """Everything shown up to the next prompt."""
        self.proc.expect_exact(PROMPT)
        return ANSI.sub("", self.proc.before)

    def say(self, text: str) -> str:
        """Type (or paste: a text with line ends arrives in one write) and read the bot's reply."""
        self.proc.send(text + "\n")
        return self.turn()

    def replies(self, shown: str) -> list[str]:
        return [r.rstrip() for r in re.split(r"^bot> ", shown, flags=re.M)[1:]]

    def close(self) -> str:
        self.proc.sendeof()
        self.proc.expect(pexpect.EOF)
        rest = ANSI.sub("", self.proc.before)
        self.proc.close()
        return rest


@pytest.fixture
def consoles():
    opened: list[Console] = []

    def open_(args: list[str], cwd: Path) -> Console:
        console = Console(args, cwd)
        opened.append(console)
        return console

    yield open_
    for console in opened:
        if console.proc.isalive():
            console.proc.terminate(force=True)


UNSURE = {"reply": 1.0, "ambient": 1.0, "suggest": 0.0}


def write_config(tmp_path: Path, pack: Path, **sections) -> Path:
    config = tmp_path / "faqbot.yaml"
    data = {"packs": [str(pack)], "data_dir": str(tmp_path / "data"), "http": {"enabled": False}, **sections}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config


def unsure_chat(consoles, pack: Path, tmp_path: Path) -> Console:
    """Never sure enough to answer a question outright: every question gets candidates."""
    return consoles(["chat", "--config", str(write_config(tmp_path, pack, thresholds=UNSURE))], tmp_path)


def test_a_pasted_multi_line_error_is_one_message(consoles, pack, tmp_path):
    chat = unsure_chat(consoles, pack, tmp_path)
    shown = chat.say("@bot I get this when I start it:\nError: Bind for 0.0.0.0:8001 failed: port 8001 is already allocated\n  at docker run")
    [reply] = chat.replies(shown)  # one message, one reply: not three
    assert reply.startswith("Not sure which one you mean") and "port 8001" in reply  # the error line was part of the question


def test_piped_lines_stay_one_message_each(pack, tmp_path):
    run = subprocess.run(
        FAQBOT + ["chat", "--config", str(write_config(tmp_path, pack, thresholds=UNSURE))],
        input="@bot\n@bot how do I publish port 8001\n", capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    replies = re.split(r"^bot> ", run.stdout, flags=re.M)[1:]
    assert len(replies) == 2 and "@bot <question>" in replies[0] and replies[1].startswith("Not sure which one you mean")


def test_candidates_are_picked_in_the_language_of_their_question_and_more_than_once(consoles, pack, tmp_path):
    chat = unsure_chat(consoles, pack, tmp_path)
    # no port named: every network entry is as likely, and the list names several
    [offer] = chat.replies(chat.say("@bot 网络问题的端口怎么映射"))
    assert offer.startswith("不太确定你问的是哪个") and "1. 网络问题第" in offer and "2. 网络问题第" in offer
    [first] = chat.replies(chat.say("1"))
    assert first.startswith("用 -p 80") and "— #" in first and "网络问题第" in first
    [second] = chat.replies(chat.say("2"))  # the list is still open: a second pick, still in Chinese
    assert second.startswith("用 -p") and "— #" in second and "Use -p" not in second and second != first
    [again] = chat.replies(chat.say("@bot 1"))
    assert again == first

    [offer] = chat.replies(chat.say("@bot how do I publish port 8001"))  # a new question: a new list
    assert offer.startswith("Not sure which one you mean") and "1. Network question 2" in offer
    [picked] = chat.replies(chat.say("@bot 1"))
    assert picked.startswith("Use -p 8001:8001.") and "— #4 Network question 2: how to publish port 8001?" in picked
    [out_of_range] = chat.replies(chat.say("9"))
    assert out_of_range.startswith("Please reply with a number from 1 to")
    chat.close()


def test_a_bare_mention_or_help_shows_usage_not_i_dont_know(consoles, pack, tmp_path):
    chat = unsure_chat(consoles, pack, tmp_path)
    [bare] = chat.replies(chat.say("@bot"))
    assert "@bot <question>" in bare and "@bot <问题>" in bare and "don't know" not in bare
    [english] = chat.replies(chat.say("@bot help"))
    assert "@bot <question>" in english and "@bot <问题>" not in english
    [chinese] = chat.replies(chat.say("@faqbot 帮助"))
    assert "@bot <问题>" in chinese and "@bot <question>" not in chinese


def test_list_and_show_in_the_console(consoles, pack, tmp_path):
    chat = consoles(["chat", "--pack", str(pack)], tmp_path)
    [page] = chat.replies(chat.say("/faq list network 2"))
    assert page.splitlines()[0] == "“Networking”: 45 entries, page 2 of 3" and "Next page: /faq list Networking 3" in page
    [shown] = chat.replies(chat.say("/faq 查看 4"))
    assert shown.splitlines()[0] == "#4 网络问题第 2 个：端口 8001 怎么映射？"


def test_faqbot_run_keeps_its_log_off_the_prompt(consoles, pack, tmp_path):
    config, data = write_config(tmp_path, pack), tmp_path / "data"
    run = consoles(["run", "--config", str(config)], tmp_path)
    assert f"the log is in {data / 'console.log'}" in run.banner
    shown = run.say("@bot how do I scale a swarm service")
    [reply] = run.replies(shown)
    assert reply.startswith("docker service scale web=5.")
    assert " INFO " not in shown, shown  # the per-message record is not written between prompt and reply
    rest = run.close()  # after the last prompt (Ctrl-D), the shutdown may log on the terminal again
    assert "platform=console" not in rest
    log = (data / "console.log").read_text(encoding="utf-8")
    assert "platform=console" in log and "decision=answer" in log  # it went to the file
