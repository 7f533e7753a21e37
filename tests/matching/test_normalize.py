"""Normalisation keeps what identifies a question and drops chat noise."""
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.normalize import MAX_MATCH_CHARS, detect_lang, normalize, word_tokens
from bot.matching.types import LANG_EN, LANG_ZH


def test_full_width_and_case_are_folded():
    assert normalize("ＤＯＣＫＥＲ　ＰＵＬＬ　好慢！") == "docker pull 好慢!"


def test_platform_markup_and_mentions_are_stripped():
    text = "<@U024BE7LH> [CQ:at,qq=123456] @王涛 <!here> docker pull 好慢 https://example.org/x?y=1"
    assert normalize(text) == "docker pull 好慢"


def test_slack_link_keeps_its_label():
    assert normalize("see <https://docs.docker.com|the docs> please") == "see the docs please"


def test_command_tokens_survive_whole():
    tokens = word_tokens(normalize("docker run -p 8080:80 --link db -v /var/run/docker.sock:/var/run/docker.sock docker-compose.yml"))
    for expected in ("-p", "8080:80", "--link", "/var/run/docker.sock:/var/run/docker.sock", "docker-compose.yml"):
        assert expected in tokens
    # parts of compound tokens are there too, so a partial overlap still counts
    assert "compose" in tokens and "sock" in tokens


def test_stop_words_are_dropped_but_flags_are_not():
    tokens = word_tokens("how do i use the -v flag")
    assert "-v" in tokens and "flag" in tokens
    assert "the" not in tokens and "how" not in tokens


def test_control_and_zero_width_characters_become_spaces():
    assert normalize("docker\u200bpull\x00好慢\u202e") == "docker pull 好慢"


def test_length_is_capped():
    assert len(normalize("镜像" * 100_000)) == MAX_MATCH_CHARS


def test_language_follows_the_question():
    assert detect_lang("docker pull 好慢") == LANG_ZH
    assert detect_lang("容器一跑就退出") == LANG_ZH
    assert detect_lang("container exits immediately after docker run") == LANG_EN
    # an English question quoting one Chinese word stays English
    assert detect_lang("what does 镜像 mean in the docker docs you linked") == LANG_EN
    # a Chinese sentence full of commands stays Chinese
    assert detect_lang("docker run -d -p 80:80 nginx 之后访问不了") == LANG_ZH
    # and so is a short Chinese question around a pasted error or a file name
    assert detect_lang("docker push 报 unauthorized: authentication required") == LANG_ZH
    assert detect_lang("docker daemon.json 在哪") == LANG_ZH
    assert detect_lang("setFieldsValue 传 null ts 报错") == LANG_ZH
    # while an English one quoting a Chinese error string stays English
    assert detect_lang("the dashboard shows 权限不足 when I open the settings page") == LANG_EN


def test_empty_and_noise_only_input():
    assert normalize("") == ""
    assert normalize("[CQ:image,file=a.jpg]") == ""
    assert normalize("   <@U1>   ") == ""


def _unguarded(text: str) -> str:
    """normalize() with every pass applied, for the property test below."""
    from bot.matching import normalize as n

    text = n._MARK_RUN.sub(r"\1", text[: n.MAX_INPUT_CHARS])
    text = n.unescape_cq(text)
    text = n._CQ_DEBRIS.sub(" ", n._CQ_CODE.sub(" ", text))
    text = n._SLACK_LINK_LABEL.sub(r" \1 ", text)
    text = n._SLACK_MARKUP.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = n._CONTROL.sub(" ", text)
    text = n._URL.sub(" ", text)
    text = n._MENTION.sub(" ", text)
    text = n._drop_repeated_lines(n._BRACKETS.sub(" ", text.casefold()))
    return n._SPACE.sub(" ", text).strip()[: n.MAX_MATCH_CHARS]


@settings(derandomize=True, max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            list("ab <>@:/.w[]CQ|#!\n＠＜ｗ容器&\u0301\u0316") + ["http://", "www.", "[CQ:at,qq=1]", "<@U1>", "<http://x|y>", "&#91;", "&amp;"]
        ),
        max_size=40,
    ).map("".join)
)
def test_skipped_passes_could_not_have_matched(text):
    # normalize() skips a pass when the literal its pattern needs is absent; the result must not change
    assert normalize(text) == _unguarded(text)
