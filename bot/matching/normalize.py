"""Text normalisation and tokenisation shared by indexing and matching.

Chat messages arrive full of platform markup (Slack `<@U…>`, QQ `[CQ:…]`),
full-width characters and pasted shell output. Everything is folded to one
form here, keeping command-line tokens (`-p`, `--link`, `docker-compose.yml`,
`/var/run/docker.sock`) whole, because they are often the most telling part.
"""
from __future__ import annotations

import re
import unicodedata

from .types import LANG_EN, LANG_ZH

# Reading more than this never changes the answer and keeps every message bounded in time:
# four times what is matched, for the markup (CQ codes, links) that normalisation removes.
# (20 000 let a crafted message cost ~13 ms in normalisation alone; benchmarks/worst_case.py)
MAX_INPUT_CHARS = 6_000
MAX_MATCH_CHARS = 1_500
# NFKC puts a run of combining marks in canonical order with an insertion sort: quadratic in
# the run. No script needs more than a handful on one letter; Zalgo text is noise.
MAX_MARK_RUN = 16


def _mark_class() -> str:
    """A regex class of the characters that NFKC would put in a run of combining marks:
    those with a non-zero combining class, and the few whose decomposition starts with one
    (Tibetan U+0F73, half-width ﾞ). Read from this Python's own Unicode tables (~25 ms once)."""
    ranges: list[list[int]] = []
    for code in range(0x300, 0x20000):
        char = chr(code)
        if unicodedata.combining(char) or (
            unicodedata.decomposition(char) and unicodedata.combining(unicodedata.normalize("NFKD", char)[0])
        ):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in ranges)


_MARKS = _mark_class()
_MARK_RUN = re.compile(f"([{_MARKS}]{{{MAX_MARK_RUN}}})[{_MARKS}]+")
# QQ's CQ-code escapes, which NapCat also leaves in plain text; a double-escaped one
# (`&amp;#91;`) is undone by the second pass
_CQ_ENTITY = re.compile(r"&(?:#91|#93|#44|amp);")
_CQ_ENTITIES = {"&#91;": "[", "&#93;": "]", "&#44;": ",", "&amp;": "&"}
# brackets around a word are punctuation: as character n-grams (`[a`, `c]`) they only dilute
_BRACKETS = re.compile(r"[\[\](){}【】〔〕〖〗「」『』《》〈〉]")

# inner classes exclude the opening bracket too, so a flood of unclosed codes is
# scanned in linear time instead of re-scanning up to the cap from every start
_CQ_CODE = re.compile(r"\[CQ:[^\[\]]{0,2000}\]")
# what is left of a code that does not close (`[CQ:qq=123,name=[]`, as NapCat escapes one):
# markup debris, never words; one token at most, so the scan stays linear
_CQ_DEBRIS = re.compile(r"\[CQ:[^\s\[\]]{0,200}")
_SLACK_LINK_LABEL = re.compile(r"<(?:https?|mailto):[^<>|]{0,2000}\|([^<>]{0,500})>")
_SLACK_MARKUP = re.compile(r"<[@#!][^<>]{0,200}>")
_URL = re.compile(r"(?:https?|ftp)://[^\s<>\"'，。）]+|\bwww\.[^\s<>\"'，。）]+")
_MENTION = re.compile(r"(?<![\w.])@[^\s@:：,，]{1,40}")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-zA-Z]{2,}")

# Command-aware word tokens: flags (-p, --link), paths (/var/run/docker.sock),
# file names (docker-compose.yml), image refs (nginx:latest), versions (17.05).
_WORD = re.compile(r"--?[a-z][a-z0-9-]*|/?[a-z0-9_][a-z0-9_.:/@+=-]*")
_TRIM = ".:,;=/-"
_SPLIT = re.compile(r"[./:_=@+-]+")

STOP_WORDS = frozenset(
    """a an the is are was were be been being am do does did doing have has had i me my we our you your he she it its
    they them their this that these those what which who whom how why when where there here and or but if then else so
    to of in on at by for with from into onto about as up down out over under again just only also too very can could
    should would will shall may might must not no nor than any some all each both more most other such own same s t
    get got getting use using used want need try trying tried way ways thing things anyone someone somebody something
    please help thanks thank hi hello hey ok okay yes yeah like make made still even really after before while because
    know let lets one two via per etc im ive dont doesnt cant isnt wont its thats whats hows e.g i.e""".split()
)


# Chinese function words and chat filler: they carry no topic, yet as rare character
# n-grams they would get a high idf and drown the few words that do (慢, 镜像, 加速).
_ZH_FILLER = re.compile(
    "|".join(
        sorted(
            """有没有 有木有 怎么办 咋办 怎么样 怎么 为什么 为啥 什么 咋整 咋 请问 请教 求助 求教 大家 大佬 各位 兄弟们
            一下 一直 总是 老是 特别 非常 十分 好像 感觉 是不是 能不能 可不可以 可以 应该 需要 还是 但是 然后 所以 因为
            如果 的话 这个 那个 这样 那样 这种 那种 一个 办法 方法 问题 情况 东西 时候 现在 已经 就是 还有 或者 不是 没有
            我们 你们 他们 自己 我 你 他 她 它 的 了 吗 呢 吧 啊 呀 哦 哈 嘛 么 啦 呗 得 地 着 过 很 都 也 就 又 再 在 是 有 和 跟 与
            及 把 被 让 给 对 从 到 向 往 用 要 会 能 想 请 帮 谢谢 多谢""".split(),
            key=len,
            reverse=True,
        )
    )
)


def content_cjk(text: str) -> str:
    """Normalised text with Chinese filler words replaced by spaces (for n-grams)."""
    return _ZH_FILLER.sub(" ", text)


def normalize(text: str, max_chars: int = MAX_MATCH_CHARS) -> str:
    """Fold a raw chat message into the text the matcher reads."""
    if not text:
        return ""
    text = bound_marks(text[:MAX_INPUT_CHARS])
    # each pattern needs a literal its guard looks for: most messages skip most passes
    if "&" in text:
        text = unescape_cq(text)
    if "[CQ:" in text:
        text = _CQ_DEBRIS.sub(" ", _CQ_CODE.sub(" ", text))
    if "<" in text:
        text = _SLACK_LINK_LABEL.sub(r" \1 ", text)
        text = _SLACK_MARKUP.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    if "://" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(" ", text)
    text = text.casefold()
    text = _BRACKETS.sub(" ", text)
    text = _drop_repeated_lines(text)
    text = _SPACE.sub(" ", text).strip()
    return text[:max_chars]


def bound_marks(text: str) -> str:
    """Cut every run of combining marks to MAX_MARK_RUN, in linear time: what any code
    path must do to a message before its first Unicode normalisation."""
    if text.isascii():
        return text
    return _MARK_RUN.sub(r"\1", text)


def unescape_cq(text: str) -> str:
    """Undo QQ's CQ escapes (`&#91;` `&#93;` `&#44;` `&amp;`), twice at most: a
    double-escaped `&amp;#91;CQ:at,qq=all&amp;#93;` comes out as the code it hides."""
    for _ in range(2):
        if "&" not in text:
            break
        text = _CQ_ENTITY.sub(lambda m: _CQ_ENTITIES[m.group(0)], text)
    return text


def _drop_repeated_lines(text: str) -> str:
    """Pasted logs repeat the same line many times; once says it all."""
    if "\n" not in text:
        return text
    seen: set[str] = set()
    kept = []
    for line in text.split("\n"):
        key = line.strip()
        if key and key not in seen:
            seen.add(key)
            kept.append(key)
    return "\n".join(kept)


# Chinese grammar words that a quoted Chinese term seldom holds: particles, question
# words, "reports" and "in". A message with one of them is written in Chinese, however
# much English it pastes: "docker push 报 unauthorized: authentication required",
# "docker daemon.json 在哪". Not 不 or 无: quoted error strings and UI labels hold them
# ("权限不足", "暂无数据").
_CHINESE_GRAMMAR = re.compile(r"[吗呢吧啊么怎哪咋啥报里在是的了能要]|提示")


def detect_lang(text: str) -> str:
    """'en' when the message is written in English, else 'zh' (Chinese or mixed)."""
    cjk = len(_CJK.findall(text))
    if cjk == 0:
        return LANG_EN if _LATIN_WORD.search(text) else LANG_ZH
    latin = sum(len(w) for w in _LATIN_WORD.findall(text))
    # A Chinese sentence with commands or a pasted error in it is Chinese; an English
    # one quoting a Chinese word is English.
    return LANG_EN if cjk * 6 < latin and cjk <= 4 and not _CHINESE_GRAMMAR.search(text) else LANG_ZH


def word_tokens(text: str) -> list[str]:
    """Command-aware word tokens of normalised text, plus the parts of compound tokens."""
    out: list[str] = []
    for raw in _WORD.findall(text):
        # trailing punctuation is sentence noise; a leading '-' (flag) or '/' (path) is meaning
        token = raw.rstrip(_TRIM) if raw[0] in "-/" else raw.strip(_TRIM)
        if not token or token in ("-", "--") or token in STOP_WORDS:
            continue
        out.append(token)
        parts = [p for p in _SPLIT.split(token) if p]
        if len(parts) > 1:
            out.extend(p for p in parts if len(p) > 1 and p not in STOP_WORDS)
    return out


def cjk_text(text: str) -> str:
    """Only the CJK runs of a text, separated by spaces, for character n-grams."""
    return " ".join(re.findall(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", text))


def has_content(text: str) -> bool:
    return bool(_CJK.search(text) or re.search(r"[a-z0-9]", text))
