"""The second opinion: whole-entry evidence for messages the first pass is unsure of.

The first pass (matcher.py) reads each entry mostly through its phrasings, which
is what makes a hand-tuned pack precise and fast. A FAQ imported raw has one
phrasing per entry, and people ask in other words: most of what tells the right
entry is in the answer text. For a message the first pass would not answer
outright, two more scores over *every* entry are read:

- character 2-4-gram TF-IDF over the entry's title and whole body (the plain
  baseline that beats word-level phrasing matches on English FAQs);
- when the optional sentence encoder is installed (bot/matching/dense.py,
  all-MiniLM-L6-v2), the cosine of the message to the entry's phrasings and to
  its title plus answer: paraphrases that share no words ("downloads take
  forever" / "docker pull is slow").

A message in the other script (English to a Chinese FAQ, Chinese to an English
one) shares no character n-grams with the entries: a word TF-IDF over the entries
read in English (glossed_words.py) takes the character score's place.

They are summed into one score per entry (`SecondOpinion.scores`), which widens
the candidate pool, adds to the order and feeds the second opinion's confidence
map (second_map.py). The same message vector is read against the engine's
chatter phrasings (`SecondOpinion.chatter`), so that a word shared with chit-chat
does not hold back a question plainly about an entry (matcher.CHATTER_MEANING_GAP). With a raw
import loaded, the message is first repaired into the entries' own words (`repaired`,
repair.py): typos, and English words in a Chinese message to a Chinese FAQ.
It costs about 15 ms with the encoder (its forward pass
over a message's first 24 word pieces, one core; tenths of a millisecond
without), which is why only unsure messages pay it: confident ones keep the
sub-millisecond path.

Built per index (a warm-up thread at start, or the first unsure message) and
cached on it. An index grown by a teach extends its predecessor's opinion in the
background (the new entries read in its character vocabulary; sentence vectors
memoised by text, so only new text is encoded), and no message waits for it.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Optional, Sequence

import numpy as np

from .gloss import common_words, gloss
from .glossed_words import add_words, fit_words, word_scores
from .normalize import normalize
from .repair import PackWords, pack_words, repair
from .vectorize import other_script

if TYPE_CHECKING:
    from .index import Index
    from .types import Entry

log = logging.getLogger("faqbot.second")

ENCODER_NAME = "all-MiniLM-L6-v2"  # what bot/matching/dense.py runs
# weight of the sentence encoder's cosine beside the character TF-IDF cosine
DENSE_WEIGHT = 0.5
CHAR_BODY_CHARS = 4_000  # of an entry's body read by the character TF-IDF (as the first pass's profile)
# The title is the question; the body answers it, in words a question seldom uses, and a long
# body repeating a message's few words (an IP entry's `--ip=` examples) outweighed a sibling
# whose title asks exactly that. Read three times (sublinear tf: a title n-gram counts about
# twice a body one), leave one FAQ out against once: coverage 0.483/0.550/0.746/0.500 ->
# 0.500/0.583/0.763/0.483 for antd-zh/antd-en/youtube-dl/raw Docker, precision 0.967/1.000/
# 0.936/0.943 -> 1.000/1.000/0.938/0.957, the raw Docker FAQ's false answers 0.043 -> 0.029
# (twice: between the two)
CHAR_TITLE_TIMES = 3
DENSE_PROFILE_CHARS = 1_500  # of an entry's title + answer + body given to the encoder
DENSE_PROFILE_TOKENS = 64
# a message is read up to this many word pieces by the encoder: a question fits, and a
# pasted log's first line (what tells it) too; each token more costs time on every unsure message
DENSE_QUERY_TOKENS = 24
# characters of a message read into English for the encoder: more than its tokens can hold,
# and a pasted wall of Chinese is not looked up word by word to be cut at 24 tokens anyway
DENSE_QUERY_CHARS = 160

_encoder_lock = threading.Lock()
_encoder_state = None  # the process's sentence encoder (False: none), loaded on first use


def _encoder():
    """The process-wide sentence encoder (dense.py), or None when none is installed or it
    is switched off. Entry vectors are memoised by `_entry_vectors` (and its file);
    messages are encoded each time and never kept."""
    global _encoder_state
    with _encoder_lock:
        if _encoder_state is None:
            try:
                from .dense import shared_encoder
            except ImportError:  # its optional libraries (tokenizers, safetensors) are missing
                _encoder_state = False
            else:
                _encoder_state = shared_encoder() or False
        return _encoder_state or None


def encoder_name() -> str:
    """Which sentence encoder the second opinion uses ("" for none): the second
    opinion's map is fitted for one (loads the encoder to tell)."""
    return ENCODER_NAME if _encoder() is not None else ""


def configured_encoder() -> str:
    """The encoder the second opinion will use unless it fails to load ("" when
    $FAQBOT_EMBED is off), told without loading it: a start with a hand-phrased pack
    alone must not pay for the encoder. A failure to load shows at use: the scores
    then come without the encoder's (second_opinion), and the first map rates them."""
    from .dense import switched_off

    return "" if switched_off() else ENCODER_NAME


def _query_text(text: str) -> str:
    """What the encoder reads of a message: its start, Chinese read into English."""
    return gloss(text[:DENSE_QUERY_CHARS])


def _char_doc(entry: "Entry") -> str:
    """What the character TF-IDF reads of an entry: its title CHAR_TITLE_TIMES times, then its
    English title and body."""
    whole = normalize(f"{entry.question}\n{entry.question_en}\n{entry.body or entry.answer}", max_chars=CHAR_BODY_CHARS)
    return " ".join([normalize(entry.question)] * (CHAR_TITLE_TIMES - 1) + [whole])


def _dense_docs(entry: "Entry", phrasings: Sequence[str]) -> tuple[list[str], str]:
    """The entry's phrasings (normalised title and aliases, English title) and its profile
    text, Chinese read into English words for the encoder (gloss.py)."""
    short = list(dict.fromkeys(gloss(t) for t in (*phrasings, normalize(entry.question_en)) if t))
    profile = gloss(f"{entry.question}\n{entry.answer}\n{entry.body}"[:DENSE_PROFILE_CHARS])
    return short, profile


@dataclass(frozen=True)
class SecondOpinion:
    """Whole-entry scores for one index's entries (see the module docstring)."""

    char_vectorizer: object  # sklearn TfidfVectorizer, fitted on the entries
    char_rows: object  # (entries x features) sparse, L2-normalised
    dense_rows: Optional[np.ndarray]  # (docs x dim), L2-normalised; None without an encoder
    dense_owner: Optional[np.ndarray]  # entry position of each dense row
    n_entries: int
    language: str = ""  # of the entries ("zh", "en"; Index.language)
    phrasings: tuple = ()  # each entry's phrasings as encoded (what an extension compares)
    keys: tuple = ()  # each entry's pack/id: an extension needs the same entries first, in order
    word_vectorizer: object = None  # word TF-IDF over the entries read in English (glossed_words.py)
    word_rows: object = None  # (entries x words) sparse, L2-normalised
    chatter_rows: Optional[np.ndarray] = None  # the generic chatter phrasings' sentence vectors; None without an encoder
    words: Optional[PackWords] = None  # the entries' words, which a message is repaired into (repair.py)

    @property
    def has_dense(self) -> bool:
        return self.dense_rows is not None

    def repaired(self, text: str, glossary) -> str:
        """The message with its typos and code-switched words in the entries' own words
        (repair.py); as it is when the words were not read."""
        if self.words is None:
            return text
        return repair(text, self.words, glossary, self.language, common_words())

    def scores(self, text: str) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """Per entry: character TF-IDF cosine (for a message in the other script, the word
        cosine read in English) + DENSE_WEIGHT x best sentence cosine; and the best
        sentence cosine alone (None without the encoder)."""
        if other_script(self.language, text):
            # character n-grams say nothing across scripts (an English question to a
            # Chinese FAQ shares only the odd Latin bigram with it): words read in
            # English (glossed_words.py) stand in for them
            out = word_scores(self.word_vectorizer, self.word_rows, text) if self.word_rows is not None else np.zeros(self.n_entries)
        else:
            query = self.char_vectorizer.transform([text[:CHAR_BODY_CHARS]])
            out = (self.char_rows @ query.T).toarray().ravel()
        if self.dense_rows is not None:
            encoder = _encoder()
            try:
                vec = _message_vector(encoder, text) if encoder is not None else None
            except Exception:  # the character score stands alone; the message is still answered
                log.exception("encoding a message failed")
                vec = None
            if vec is not None:
                sims = self.dense_rows @ vec
                best = np.full(self.n_entries, -1.0)
                np.maximum.at(best, self.dense_owner, sims)
                best = np.maximum(best, 0.0)
                return out + DENSE_WEIGHT * best, best
        return out, None

    def chatter(self, text: str) -> Optional[float]:
        """The message's best sentence cosine to the engine's generic chatter phrasings
        (bot/matching/data/chatter.yaml); None without the encoder. Read beside the
        entries' (`scores`' second value): chit-chat is closer in meaning to chatter
        than to any entry, a question that shares a word with it ("容器里 ping 不通外网"
        and the test message "ping") is not."""
        encoder = _encoder() if self.chatter_rows is not None and len(self.chatter_rows) else None
        if encoder is None:
            return None
        try:
            return float(np.max(self.chatter_rows @ _message_vector(encoder, text)))
        except Exception:  # the words alone then say whether it is chatter
            log.exception("encoding a message failed")
            return None


def _chatter_vectors(encoder) -> np.ndarray:
    """The chatter phrasings' sentence vectors, each read as a message is (normalised,
    Chinese glossed, up to DENSE_QUERY_TOKENS); memoised by text like the entries' (in the
    vector file of that length: a few hundred rows, encoded once per machine)."""
    from .chatter import chatter_topics

    texts = list(dict.fromkeys(_query_text(normalize(p)) for topic in chatter_topics() for p in topic.phrasings))
    return _entry_vectors(encoder, texts, DENSE_QUERY_TOKENS) if texts else np.zeros((0, encoder.dim), dtype=np.float32)


_last_message = threading.local()


def _message_vector(encoder, text: str) -> np.ndarray:
    """The message's sentence vector. Only the last message of each thread is kept: with two
    packs or more loaded, the index over all packs and each pack's own (engine shards) read
    the same message, which is encoded once. Nothing more: chat seldom repeats a message
    word for word, a memo would keep people's messages in memory, and a benchmark cycling
    its queries would time a dictionary lookup instead of the encoder."""
    last = getattr(_last_message, "pair", None)
    if last is not None and last[0] == text and last[1] is encoder:
        return last[2]
    vec = encoder.encode([_query_text(text)], max_tokens=DENSE_QUERY_TOKENS)[0]
    _last_message.pair = (text, encoder, vec)
    return vec


def build_second_opinion(
    entries: Sequence["Entry"], phrasings: Sequence[Sequence[str]], dense: bool = True, language: str = ""
) -> SecondOpinion:
    """Fit the character TF-IDF on the entries and encode them (when an encoder is there)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [_char_doc(e) for e in entries] or ["empty"]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, dtype=np.float32)
    rows = vectorizer.fit_transform(docs).tocsr()
    word_vectorizer, word_rows = fit_words(entries)
    encoder = _encoder() if dense else None
    dense_rows, owner = _encoded(encoder, entries, phrasings, range(len(entries))) if encoder is not None and entries else (None, None)
    return SecondOpinion(
        vectorizer, rows, dense_rows, owner, len(entries), language, tuple(map(tuple, phrasings)), tuple(e.key for e in entries),
        word_vectorizer, word_rows, _chatter_vectors(encoder) if dense_rows is not None else None, pack_words(entries),
    )


def extend_second_opinion(base: SecondOpinion, entries: Sequence["Entry"], phrasings: Sequence[Sequence[str]]) -> SecondOpinion:
    """`base` grown to an index that only added entries or phrasings (a teach): the new
    entries read in its character vocabulary, and only what changed encoded, so a teach
    beside a hundred long entries costs the taught text, not the pack."""
    import scipy.sparse as sp

    added = list(range(base.n_entries, len(entries)))
    rows, word_rows = base.char_rows, base.word_rows
    if added:
        rows = sp.vstack([rows, base.char_vectorizer.transform([_char_doc(entries[pos]) for pos in added])], format="csr")
        word_rows = add_words(base.word_vectorizer, word_rows, [entries[pos] for pos in added])
    dense_rows, owner = base.dense_rows, base.dense_owner
    encoder = _encoder() if dense_rows is not None else None
    if encoder is not None:
        changed = [pos for pos in range(base.n_entries) if tuple(phrasings[pos]) != base.phrasings[pos]] + added
        if changed:
            keep = ~np.isin(owner, changed)
            more_rows, more_owner = _encoded(encoder, entries, phrasings, changed)
            dense_rows = np.vstack([dense_rows[keep], more_rows])
            owner = np.concatenate([owner[keep], more_owner])
    return replace(
        base, char_rows=rows, word_rows=word_rows, dense_rows=dense_rows, dense_owner=owner, n_entries=len(entries),
        phrasings=tuple(map(tuple, phrasings)), keys=tuple(e.key for e in entries),
        words=pack_words(entries) if added else base.words,
    )


def _encoded(encoder, entries: Sequence["Entry"], phrasings: Sequence[Sequence[str]], positions) -> tuple[np.ndarray, np.ndarray]:
    """The sentence vectors of these entries (their phrasings, then their profiles) and the
    entry position of each row."""
    shorts, profiles, owners = [], [], []
    positions = list(positions)
    for pos in positions:
        short, profile = _dense_docs(entries[pos], phrasings[pos])
        shorts += short
        owners += [pos] * len(short)
        profiles.append(profile)
    vectors = [_entry_vectors(encoder, shorts, 64)] if shorts else []
    vectors.append(_entry_vectors(encoder, profiles, DENSE_PROFILE_TOKENS))
    return np.vstack(vectors).astype(np.float32), np.asarray(owners + positions, dtype=np.int64)


# Entry texts' vectors, kept in a file of the cache folder (beside the cached calibrations)
# so that a restart or a re-import encodes only the entries that changed: a hundred long
# entries take seconds to encode. Only entry texts (and the shipped chatter phrasings) are
# written there, never a message.
VECTOR_FILE_ROWS = 20_000
_vectors_lock = threading.Lock()
_vectors: dict[int, dict[str, np.ndarray]] = {}  # max_tokens -> text digest -> vector (read from its file once)


def _vector_file(max_tokens: int) -> "Path":
    from .calibration import cache_dir

    return cache_dir() / f"entry-vectors-{ENCODER_NAME}-{max_tokens}.npz"


def _entry_vectors(encoder, texts: Sequence[str], max_tokens: int) -> np.ndarray:
    """The texts' vectors: from memory, else from the vector file, else encoded (and added to it)."""
    keys = [hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
    path = _vector_file(max_tokens)
    with _vectors_lock:
        known = _vectors.get(max_tokens)
        if known is None:
            known = _vectors[max_tokens] = _read_vectors(path)
        missing = {k: t for k, t in zip(keys, texts) if k not in known}
    if missing:
        fresh = encoder.encode(list(missing.values()), max_tokens=max_tokens)
        with _vectors_lock:
            known.update(zip(missing, fresh))
            if len(known) > 2 * VECTOR_FILE_ROWS:  # bounded in memory too: this build's, then the newest
                kept = list(dict.fromkeys([*keys, *reversed(known)]))[:VECTOR_FILE_ROWS]
                for stale in set(known) - set(kept):
                    del known[stale]
            _write_vectors(path, known, keys)
    with _vectors_lock:
        return np.stack([known[k] for k in keys])


def _read_vectors(path: "Path") -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            keys, rows = data["keys"], data["rows"]
        if rows.ndim != 2 or len(keys) != len(rows):
            return {}
        return {str(k): row for k, row in zip(keys.tolist(), rows.astype(np.float32))}
    except FileNotFoundError:
        return {}
    except Exception as exc:  # a damaged file is only a slower start: it is rewritten
        log.warning("ignoring the entry vector file %s: %s", path, exc)
        return {}


def _write_vectors(path: "Path", known: dict[str, np.ndarray], first: Sequence[str]) -> None:
    """Write the vectors (these keys first, then the others, up to VECTOR_FILE_ROWS) atomically."""
    order = list(dict.fromkeys([*first, *known]))[:VECTOR_FILE_ROWS]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(tmp, keys=np.asarray(order), rows=np.stack([known[k] for k in order]).astype(np.float32))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home: encode again next start
        log.warning("could not keep the entry vectors in %s: %s", path.parent, exc)
        return
    _remove_stale_parts(path)


STALE_PART_S = 3600  # a part file this old was left by a process that died while writing


def _remove_stale_parts(path: "Path") -> None:
    """Remove the part files of writers that died mid-write (each writer's own name, so a
    live one is never touched: only those an hour old)."""
    import time

    for part in path.parent.glob(f"{path.stem}.*.tmp.npz"):
        try:
            if time.time() - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
        except OSError:  # gone meanwhile, or not ours to remove
            pass


def second_opinion(index: "Index") -> Optional[SecondOpinion]:
    """The index's second opinion, built on first use (once, whoever asks first) for an
    index the bot starts or reloads with. One that replaced another while the bot
    serves (a teach, a refit: Index.with_entry, grown_slot) is built in the background
    only (Engine._prepare_second), extending its predecessor's; until it is there a
    message does not wait: the first pass answers it, as before the teach."""
    slot = index._second
    if "built" in slot:
        return slot["built"]
    if "from" in slot:
        return None
    return ensure_second_opinion(index)


def ensure_second_opinion(index: "Index") -> Optional[SecondOpinion]:
    """Build the index's second opinion now if it is not built yet. A build that fails is
    logged and retried without the encoder; None (first pass only) if even that fails:
    no message may fail for want of a second opinion."""
    slot = index._second
    if "built" in slot:
        return slot["built"]
    with _slot_lock(slot):
        if "built" not in slot:
            base = _nearest_built(slot)
            got = None
            for dense in (True, False):
                try:
                    if dense and base is not None and _extends(base, index.entries):
                        got = extend_second_opinion(base, index.entries, index.entry_phrasings)
                    else:
                        got = build_second_opinion(index.entries, index.entry_phrasings, dense=dense, language=index.language)
                    break
                except Exception:
                    log.exception("building the second opinion failed%s", "" if dense else " (without the encoder too)")
            slot["built"] = got
            slot.pop("from", None)  # the predecessor may go
    return slot["built"]


def _extends(base: SecondOpinion, entries: Sequence["Entry"]) -> bool:
    """Whether `entries` are `base`'s, in the same order, with some appended."""
    return base.n_entries <= len(entries) and base.keys == tuple(e.key for e in entries[: base.n_entries])


def grown_slot(previous: dict) -> dict:
    """The second-opinion slot of an index that replaces one with `previous` while the bot
    serves (a teach, a refit): it extends the nearest built predecessor's when that has
    the same entries first (else a fresh build, as after the first teach beside a
    hand-phrased pack), and messages never wait for it."""
    return {"from": previous}


def _nearest_built(slot: dict) -> Optional[SecondOpinion]:
    """The opinion of the nearest predecessor already built (a burst of teaches: the
    ones between were skipped as superseded). A built slot lets its own predecessor go,
    so the chain is never longer than the unbuilt slots in it."""
    previous = slot.get("from")
    while previous is not None and "built" not in previous:
        previous = previous.get("from")
    return previous.get("built") if previous is not None else None


_slot_guard = threading.Lock()


def _slot_lock(slot: dict) -> threading.Lock:
    with _slot_guard:
        return slot.setdefault("lock", threading.Lock())


def prepare_second_opinion(
    index: "Index", still_current: Optional[Callable[["Index"], bool]] = None, one_at_a_time: Optional[threading.Lock] = None
) -> None:
    """Build the index's second opinion in a background thread, if it will take one,
    so that the first unsure message after a start, reload or teach does not wait
    for the entries to be encoded (a few seconds for a hundred long ones). With
    `one_at_a_time` (the engine's), builds run one after another and skip an index
    no longer `still_current`: a burst of teaches builds the newest once, extending
    the last one built, instead of racing a build per teach."""
    if index.wants_second and len(index) and "built" not in index._second:
        threading.Thread(target=_prepare, args=(index, still_current, one_at_a_time), name="faqbot-second-opinion", daemon=True).start()


def _prepare(index: "Index", still_current: Optional[Callable[["Index"], bool]], one_at_a_time: Optional[threading.Lock]) -> None:
    with one_at_a_time or contextlib.nullcontext():
        if still_current is None or still_current(index):
            ensure_second_opinion(index)