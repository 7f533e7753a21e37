"""Fitting the confidence calibrator from a pack alone, with no hand labels.

The calibrator (matcher.Calibration) maps a candidate's evidence to P(right).
It is fitted on questions the pack itself yields, self-supervised:

- pseudo-questions made from each entry's own text, the way people ask in chat:
  its title with words dropped, a typo, cut short; the answer's key sentence;
  sub-headings and sentences of the body; error lines pasted from its code blocks;
- matched against the whole pack, they show how often the top candidate is the
  right one at each level of evidence;
- matched with their entry held out (entries in folds), they are the hard
  negatives: in-domain questions the pack does not answer, where a shared path
  or keyword still finds *some* entry; the shipped chatter (bot/matching/chatter.py) and
  the pack's negatives, held out by fold, are the easy ones;
- hand-written aliases, held out by fold, add real phrasings: they improve the
  fit; their absence never breaks it.

A logistic regression over those samples is the calibration. No evaluation set
is involved. The result is cached by a fingerprint of everything it depends on,
in the pack's calibration.yaml (written by `faqbot knowledge import` and
`faqbot knowledge calibrate`) or in the user's cache folder, so a start or a
reload refits only when the knowledge changed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
import yaml

from .index import build_index, raw_packs
from .matcher import FEATURES, Calibration, OutOfScope, Weights, feature_vector, rank_with_signals
from .normalize import normalize
from ..knowledge.pack import CALIBRATION_FILE
from .types import Entry, Pack

log = logging.getLogger("faqbot.calibration")

# bump when the pseudo-questions or the fitting change, so cached fits are redone
METHOD_VERSION = 6
FOLDS = 5
PER_ENTRY = 10  # pseudo-questions per entry
CONTEXT_WORDS = (1, 2, 2, 3, 4)  # stray words added to a pseudo-question (drawn from these counts)
MIN_SAMPLES = 20
# a pack this small says too little about how its matches go wrong: it keeps the
# default calibration (fitted on the Docker pack, see matcher.Calibration)
MIN_ENTRIES = 15
# beside real aliases, how much a held-out entry's question counts as a negative
UNANSWERED_WEIGHT = 0.1
PSEUDO_UNANSWERED_WEIGHT = 0.5  # beside pseudo-questions (class weights balance the rest)

_PIECES = re.compile(r"[a-z0-9][a-z0-9_.:/@+=-]*|--?[a-z][a-z0-9-]*|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{1,2}", re.I)
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=\.)\s+|\n+")
_FENCE = re.compile(r"^(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_ERRORISH = re.compile(r"error|denied|failed|failure|cannot|can't|unable|not found|no such|refused|timeout|timed out|invalid|错误|失败|无法|拒绝", re.I)
_MD = re.compile(r"[`*_>#\[\]()|]+")


def _pieces(text: str) -> list[str]:
    """Words, flags and two-character Chinese chunks: the units a question can lose."""
    return _PIECES.findall(text)


def _drop(pieces: list[str], rng: random.Random, share: float) -> str:
    if len(pieces) <= 2:
        return " ".join(pieces)
    kept = [p for p in pieces if rng.random() >= share] or [rng.choice(pieces)]
    return " ".join(kept)


def _typo(text: str, rng: random.Random) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:-1])
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1 :]  # a missing letter
    if kind == 1 and i + 1 < len(text):
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # two swapped
    return text[:i] + text[i] + text[i:]  # a doubled one


def _sentences(text: str) -> list[str]:
    out = []
    for raw in _SENTENCE_END.split(text or ""):
        clean = " ".join(_MD.sub(" ", raw or "").split())
        if 8 <= len(clean) <= 240:
            out.append(clean)
    return out


def _body_parts(body: str) -> tuple[list[str], list[str], list[str]]:
    """(sub-headings, prose sentences, error-looking code lines) of a markdown body."""
    headings, prose, errors = [], [], []
    in_code = False
    lines: list[str] = []
    for line in (body or "").splitlines():
        if _FENCE.match(line.strip()):
            in_code = not in_code
            continue
        if in_code:
            if _ERRORISH.search(line) and 12 <= len(line.strip()) <= 200:
                errors.append(line.strip())
            continue
        heading = _HEADING.match(line)
        if heading:
            headings.append(heading.group(1))
        else:
            lines.append(line)
    prose = _sentences("\n".join(lines))
    return headings, prose, errors


def _with_context(text: str, rng: random.Random, context: Sequence[str]) -> str:
    """Add a word or two from elsewhere: real questions carry words their entry never
    uses (their setting, their project), and a calibrator that never saw such words
    would take every unexplained word for a wrong match."""
    if not context:
        return text
    words = text.split()
    for _ in range(rng.choice(CONTEXT_WORDS)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(context))
    return " ".join(words)


def pseudo_questions(entry: Entry, rng: random.Random, count: int = PER_ENTRY, context: Sequence[str] = ()) -> list[str]:
    """Chat-like questions an entry answers, made from its own text (plus a stray
    word or two from `context`, the pack's other titles)."""
    title = entry.question
    title_pieces = _pieces(title)
    headings, prose, errors = _body_parts(entry.body)
    answer = _sentences(entry.answer) + _sentences(entry.answer_en)
    made = [
        _drop(title_pieces, rng, 0.35),
        _typo(_drop(title_pieces, rng, 0.2), rng),
        " ".join(title_pieces[: max(2, (len(title_pieces) * 3) // 5)]),
    ]
    pools = [answer[:2], headings, prose, errors, entry.keywords]
    while len(made) < count and any(pools):
        for pool in pools:
            if pool and len(made) < count:
                text = rng.choice(pool)
                made.append(_drop(_pieces(text)[:24], rng, 0.25))
    out = []
    seen = {normalize(p) for p in (entry.question, *entry.aliases)}
    for text in made:
        norm = normalize(_with_context(text, rng, context))
        if norm and norm not in seen and len(norm) >= 3:
            seen.add(norm)
            out.append(norm)
    return out


def near_misses(kept: Sequence[Entry], gone: Sequence[Entry], rng: random.Random, per_entry: int = 1) -> list[str]:
    """Questions that sound like a kept entry but ask about a held-out one: the kept
    title with its telling words (the longest ones) swapped for a held-out title's.
    They stand for the in-domain question the pack does not answer that shares
    its setting with an entry ("ubuntu's apt mirror" beside "docker's apt mirror")."""
    if not gone:
        return []
    out = []
    for entry in kept:
        pieces = _pieces(entry.question)
        if len(pieces) < 3:
            continue
        for _ in range(per_entry):
            other = _pieces(rng.choice(gone).question)
            if not other:
                continue
            telling = sorted(range(len(pieces)), key=lambda i: -len(pieces[i]))[: max(1, len(pieces) // 3)]
            swapped = sorted(other, key=len, reverse=True)[: len(telling)]
            made = list(pieces)
            for i, word in zip(sorted(telling), swapped):
                made[i] = word
            out.append(" ".join(made))
    return out


def _samples(index, items: Iterable[tuple[str, Optional[str], float]]) -> tuple[list[list[float]], list[int], list[float]]:
    """Features of each text's top candidate (first pass), whether it is the expected
    entry (None: none is right), and the sample's weight."""
    xs: list[list[float]] = []
    ys: list[int] = []
    ws: list[float] = []
    for text, expected, weight in items:
        ranked = rank_with_signals(index, normalize(text), 1, second=False)
        if not ranked:
            continue
        pos, _, signals = ranked[0]
        xs.append(feature_vector(signals))
        ys.append(int(expected is not None and index.entries[pos].key == expected))
        ws.append(weight)
    return xs, ys, ws


def _as_topics(negatives: Sequence[Sequence[str] | OutOfScope]) -> list[OutOfScope]:
    return [n if isinstance(n, OutOfScope) else OutOfScope(tuple(n)) for n in negatives]


def fit_calibration(
    entries: Sequence[Entry],
    negatives: Sequence[Sequence[str] | OutOfScope],
    weights: Weights = Weights(),
    folds: int = FOLDS,
    seed: int = 1,
    chatter: Optional[Sequence[OutOfScope]] = None,
) -> tuple[Calibration, dict]:
    """Fit P(right) from the pack alone (see the module docstring). Never raises for
    want of aliases: a pack too small to fit keeps the default calibration."""
    if chatter is None:
        from .chatter import chatter_topics

        chatter = chatter_topics()
    if len(entries) < MIN_ENTRIES:
        return Calibration(), {"samples": 0, "right": 0, "folds": folds, "method": METHOD_VERSION, "note": f"fewer than {MIN_ENTRIES} entries; default calibration kept"}
    rng = random.Random(seed)
    topics = _as_topics(negatives) + list(chatter)
    pieces = [(e.key, p) for e in entries for p in _pieces(e.question)]
    pseudo = _made_up(entries)
    # made-up questions for the entries of raw packs only: a hand-phrased pack loaded beside
    # one is fitted on its held-out aliases, as when it is alone
    raw = raw_packs(entries)
    questions = {
        e.key: pseudo_questions(e, rng, context=[p for k, p in pieces if k != e.key][:5000]) if e.pack in raw else [] for e in entries
    }
    entry_fold = {e.key: rng.randrange(folds) for e in entries}
    alias_fold = {(e.key, a): rng.randrange(folds) for e in entries for a in e.aliases}
    topic_fold = [[rng.randrange(folds) for _ in t.phrasings] for t in topics]

    # right and wrong top candidates on the whole pack
    xs: list[list[float]] = []
    ys: list[int] = []
    ws: list[float] = []
    if pseudo:
        xs, ys, ws = _samples(build_index(list(entries), weights, topics), ((q, e.key, 1.0) for e in entries for q in questions[e.key]))
    # with real aliases, the questions of held-out entries stand for in-domain traffic the
    # pack does not answer, at a fraction of the answerable traffic
    unanswered = PSEUDO_UNANSWERED_WEIGHT if pseudo else UNANSWERED_WEIGHT
    for k in range(folds):
        kept = [
            replace(e, aliases=tuple(a for a in e.aliases if alias_fold[(e.key, a)] != k))
            for e in entries
            if entry_fold[e.key] != k  # held-out entries: their questions are in-domain ones the pack does not answer
        ]
        kept_topics = [
            OutOfScope(tuple(p for p, f in zip(t.phrasings, fs) if f != k), t.pack) for t, fs in zip(topics, topic_fold)
        ]
        if not kept:
            continue
        index = build_index(kept, weights, [t for t in kept_topics if t.phrasings])
        held = [(q, None, unanswered) for e in entries if entry_fold[e.key] == k for q in questions[e.key]]
        held += [(a, None, unanswered) for e in entries if entry_fold[e.key] == k for a in e.aliases]
        held += [(a, e.key, 1.0) for e in entries if entry_fold[e.key] != k for a in e.aliases if alias_fold[(e.key, a)] == k]
        held += [(p, None, 1.0) for t, fs in zip(topics, topic_fold) for p, f in zip(t.phrasings, fs) if f == k]
        if pseudo:
            gone = [e for e in entries if entry_fold[e.key] == k]
            held += [(q, None, unanswered) for q in near_misses([e for e in kept if e.pack in raw], gone, rng)]
        more_x, more_y, more_w = _samples(index, held)
        xs += more_x
        ys += more_y
        ws += more_w
    stats = {"samples": len(ys), "right": int(sum(ys)), "folds": folds, "method": METHOD_VERSION, "pseudo_questions": pseudo}
    if len(ys) < MIN_SAMPLES or len(set(ys)) < 2:
        stats["note"] = "too few samples to fit; default calibration kept"
        return Calibration(), stats
    # made-up questions miss more often than people's: weigh right and wrong alike,
    # so the base rate of the pseudo-questions does not drag every confidence down
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced" if pseudo else None).fit(
        np.asarray(xs), np.asarray(ys), sample_weight=np.asarray(ws)
    )
    calibration = Calibration(
        coef=tuple(round(float(c), 4) for c in model.coef_[0]), intercept=round(float(model.intercept_[0]), 4)
    )
    return calibration, stats


def _made_up(entries: Sequence[Entry]) -> bool:
    """Whether a fit is made on pseudo-questions: when every pack is a raw import. A pack
    phrased by hand, alone or beside raw ones, is fitted on its held-out aliases: a fit
    on made-up questions for both was too sure of the hand-phrased pack's near misses
    (the Docker dev set's false answers 0 -> 0.07-0.11 beside antd-zh or docker-practice),
    and one map fitted per pack was off in the joint index (antd-zh: precision 0.69)."""
    return bool(entries) and raw_packs(entries) == {e.pack for e in entries}


def fingerprint(entries: Sequence[Entry], negatives: Sequence[Sequence[str] | OutOfScope], weights: Weights = Weights()) -> str:
    """A digest of everything a fit depends on: the text the matcher reads, the
    negatives, the shipped chatter, the features, the weights and the method."""
    from .chatter import CHATTER_FILE

    digest = hashlib.sha256()
    head = {"method": METHOD_VERSION, "features": FEATURES, "weights": repr(weights)}
    digest.update(json.dumps(head, sort_keys=True).encode())
    digest.update(CHATTER_FILE.read_bytes())
    for e in entries:
        fields = (e.pack, e.id, e.question, e.answer, e.answer_en, e.body, *e.aliases, "\x1f", *e.keywords)
        digest.update("\x1e".join(fields).encode("utf-8", "surrogatepass"))
    for t in _as_topics(negatives):
        digest.update(("\x1d" + t.pack + "\x1e" + "\x1e".join(t.phrasings)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:24]


def save_calibration(folder: str | Path, calibration: Calibration, stats: dict, fitted_for: str = "") -> Path:
    path = Path(folder) / CALIBRATION_FILE
    path.write_text(_dump(calibration, stats, fitted_for), encoding="utf-8")
    return path


def _dump(calibration: Calibration, stats: dict, fitted_for: str) -> str:
    data = {
        "features": list(FEATURES),
        "coef": list(calibration.coef),
        "intercept": calibration.intercept,
        "fitted_for": fitted_for,
        "fitted_on": stats,
    }
    header = (
        "# Written by `faqbot knowledge calibrate` (self-supervised: pseudo-questions from the pack's own text,\n"
        "# held-out aliases and negatives, the shipped chatter). `fitted_for` fingerprints the knowledge it was\n"
        "# fitted on: when the pack changes, the bot refits by itself at start and caches the result.\n"
    )
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _read(path: Path) -> tuple[Optional[Calibration], str]:
    """(calibration, fingerprint) from a file; (None, "") when it is missing, unreadable or for other features."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        coef = data.get("coef")
        if data.get("features") != list(FEATURES) or not isinstance(coef, list) or len(coef) != len(FEATURES):
            return None, ""
        found = Calibration(coef=tuple(float(c) for c in coef), intercept=float(data.get("intercept", 0.0)))
        return found, str(data.get("fitted_for") or "")
    except (OSError, yaml.YAMLError, TypeError, ValueError, AttributeError):
        return None, ""


def cache_dir() -> Path:
    base = os.environ.get("FAQBOT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "faqbot"
    )
    return Path(base)


def calibration_for(
    packs: Sequence[Pack],
    entries: Sequence[Entry],
    negatives: Sequence[OutOfScope],
    weights: Weights = Weights(),
) -> Calibration:
    """The calibration for this knowledge, fitted now only when nothing cached fits it.

    Looked up by fingerprint: a pack's own calibration.yaml (one pack loaded),
    then the cache folder; else fitted (a few seconds for a hundred entries) and
    cached. Never raises: a fit that fails leaves the default calibration.
    """
    return with_second_map(_pack_calibration(packs, entries, negatives, weights), weights)


def with_second_map(calibration: Calibration, weights: Weights = Weights()) -> Calibration:
    """The calibration with the engine's shipped second-opinion map (second_map.py) when it
    is for the loaded encoder; else without one (the first map then rates every message).
    It rates only the entries of raw imports and those taught in chat (Index.raw_entry),
    and only for messages that take the second opinion (Index.wants_second)."""
    if weights.second_gate <= 0:
        return calibration
    from .second import configured_encoder
    from .second_map import second_map

    shipped = second_map(configured_encoder())
    if shipped is None:
        return replace(calibration, second_coef=(), second_intercept=0.0)
    return replace(calibration, second_coef=shipped.coef, second_intercept=shipped.intercept)


def _pack_calibration(
    packs: Sequence[Pack], entries: Sequence[Entry], negatives: Sequence[OutOfScope], weights: Weights
) -> Calibration:
    """The pack-alone fit (first map): cached by fingerprint, else fitted and cached."""
    key = fingerprint(entries, negatives, weights)
    if len(packs) == 1:
        found, fitted_for = _read(Path(packs[0].path) / CALIBRATION_FILE)
        if found is not None and fitted_for == key:
            return found
    cached = cache_dir() / f"calibration-{key}.yaml"
    found, fitted_for = _read(cached)
    if found is not None and fitted_for == key:
        return found
    try:
        calibration, stats = fit_calibration(entries, negatives, weights)
    except Exception:  # a calibration problem must never stop the bot from starting
        log.exception("self-calibration failed; using the default calibration")
        return Calibration()
    log.info("calibrated on %d pseudo-questions and held-out phrasings (%d matched rightly)", stats["samples"], stats["right"])
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_dump(calibration, stats, key), encoding="utf-8")
        os.replace(tmp, cached)
    except OSError as exc:  # a read-only home: refit next time
        log.warning("could not cache the calibration in %s: %s", cached.parent, exc)
    return calibration


def pack_name(pack: Pack) -> str:
    """The name a pack's entries carry (Entry.pack): its folder's."""
    return Path(pack.path).name if pack.path else pack.info.name


def pack_topics(packs: Sequence[Pack]) -> list[OutOfScope]:
    """Each pack's negatives, scoped to that pack (they hold back only its entries)."""
    return [OutOfScope(tuple(topic), pack_name(p)) for p in packs for topic in p.negatives]


def calibrate_pack(folder: str | Path, folds: int = FOLDS, seed: int = 1) -> tuple[Calibration, dict, Path]:
    """Fit a pack's calibration as the engine would (its negatives scoped to it, the
    chatter) and write it to its calibration.yaml with the fingerprint the engine
    looks for, so that loading the pack alone needs no fit. Raises PackError for
    a broken pack, never for a pack with no aliases or negatives. `seed` draws the
    made-up questions and folds (benchmarks vary it to show how much a fit moves)."""
    from ..knowledge.pack import load_pack

    pack = load_pack(folder)
    negatives = pack_topics([pack])
    calibration, stats = fit_calibration(pack.entries, negatives, folds=folds, seed=seed)
    key = fingerprint(pack.entries, negatives)
    return calibration, stats, save_calibration(folder, calibration, stats, key)
