"""The /faq command language shared by every adapter."""
from bot.chat.commands import CommandKind, parse_command, split_pair, strip_prefix


def test_sub_commands_and_questions():
    assert parse_command("").kind is CommandKind.HELP
    assert parse_command("list 网络").arg == "网络"
    assert parse_command("show 12").kind is CommandKind.SHOW
    assert parse_command("show").kind is CommandKind.HELP  # nothing to show
    assert parse_command("docker pull 好慢").kind is CommandKind.ASK


def test_add_forced_with_a_bang_in_either_width_and_on_the_next_line():
    for text in ("add! q | a", "添加！ q | a", "ADD!\nq | a"):
        command = parse_command(text)
        assert (command.kind, command.force, command.arg) == (CommandKind.ADD, True, "q | a")
    assert parse_command("add q | a").force is False
    assert parse_command("show! 3").kind is CommandKind.ASK  # only `add` can be forced
    assert parse_command("add!x").kind is CommandKind.ASK


def test_prefix_and_pair():
    assert strip_prefix("#faq list") == "list" and strip_prefix("/faqs list") is None
    assert split_pair("问题｜回答") == ("问题", "回答") and split_pair("only a question") is None
