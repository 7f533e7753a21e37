"""Ranking: the evidence of the index (vectorize, classifier, fuzzy) fused into one confidence.

Messages and knowledge share one TF-IDF space (scikit-learn's transformer over
command-aware word tokens and character n-grams; Chinese has no spaces). Three
kinds of evidence are read from it:

- similarity: cosine to each entry's phrasings (question, aliases) and to its
  profile (everything it says, body included), plus a fuzzy pass (rapidfuzz)
  over the best candidates' keywords and phrasings for typos and pasted errors;
- a multinomial naive Bayes classifier whose classes are the entries plus one
  "out of scope" class trained on the pack's negatives;
- how far the message is from the known out-of-scope phrasings.

A small logistic calibrator (bot/matching/calibration.py) turns that evidence into a
confidence in [0, 1]: the estimated probability that the answer is right.

The space is in vectorize.py, the classifier in classifier.py, the fuzzy passes
in fuzzy.py and the Index that holds them all (build_index) in index.py; this
module keeps what turns their evidence into a score: the weights, the features,
the calibrator and rank.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from .fuzzy import fuzzy_phrasing_pass, keyword_pass
from .vectorize import other_script, script_of

if TYPE_CHECKING:
    from .index import Index

FUZZY_POOL = 8
SECOND_POOL = 4  # entries the second opinion adds to the candidate pool (its best)
# weight of the second opinion's score in the order, beside RANKING's log-odds (the dev
# FAQs' top-1 is flat from 4 to 8: 6 is the middle, not a peak)
SECOND_RANK = 6.0
# for a message in the other script (an English question to a Chinese FAQ) the first
# pass reads only the Latin words it shares with the titles ("docker", "-v"): its
# preference counts for less. On the Docker FAQ's 60 English development questions,
# right first 41 -> 48 (12 and 30 alike)
CROSS_SECOND_RANK = 12.0
# ... and the sentence encoder's cosine, and the share of the message the entry's text covers,
# each by its own weight: fitted as a conditional logit (the labelled entry against the rest of
# its pool) on the development FAQs' messages that take the second opinion, leave one FAQ out
# (`python benchmarks/fit_second_order.py`): right first 281 -> 292 of 339, the weights per unit
# of the order key 11.1-11.9 and 4.6-5.6 whichever FAQ is left out (11.6 and 4.9 on all four).
# Since Chinese is read into English in its software sense (gloss.py) the cosine tells more than
# its half in the second-opinion score says; before, the same fit found nothing to add (280 -> 281).
# Coverage reorders here, unlike in RANKING: among candidates the second opinion already finds
# close, the one whose text has the message's telling words is the one it asks about.
DENSE_RANK = 12.0
COVER_RANK = 5.0
EXACT_PHRASING_CONFIDENCE = 0.99
# a message whose features are this common among the entries (on average, by
# weight) or more is "generic": its confidence is scaled down in proportion
# (real questions measured 0.08-0.7 on the dev FAQs, "docker 有问题" 0.002)
GENERIC_MESSAGE = 0.05
# A message that reports an error of a kind the entry never mentions (it says
# "is the daemon running?", the entry is about "permission denied") is another
# problem, however much path and boilerplate the two share: its confidence is
# scaled by this. Kinds of failure any software reports, in English and Chinese.
ERROR_MISMATCH = 0.5
# The failures every program reports in the same words. Sharing one of them says nothing
# about which program failed: "git push: Permission denied (publickey)" is not the error
# "permission denied while trying to connect to the Docker daemon socket", though both
# say "permission denied". When that boilerplate is a message's only link to an entry
# titled by an error line (its closest phrasing says the failure, and the message shares
# no other word of it), the message is another error: its confidence is scaled by
# ERROR_MISMATCH too. "docker ps says permission denied" shares "docker" with the socket
# line and is not held back. A title that asks a question about an error ("Why does gizmo
# say `permission denied` when it writes the cache?") is reworded by whoever asks it, an
# error line is pasted: only the latter is held to this. Specific failures ("exec format
# error", "'v' is not recognized as an internal or external command", "429 Too Many
# Requests") are not boilerplate: their words are the error itself.
BOILERPLATE_KINDS = frozenset(("permission", "no-such-file", "refused", "cannot-connect", "timeout", "missing"))
# A message at least as close to a generic chatter phrasing (bot/matching/data/chatter.yaml)
# as to an entry's phrasings and text: its confidence for that entry is scaled by this.
CHATTER_DAMPING = 0.3
# ... unless the sentence encoder's cosine of the message to the entry exceeds its best cosine to
# a chatter phrasing by this much: then the words it shares with chatter are a coincidence
# ("容器里 ping 不通外网" and the test message "ping"; "how do I run docker without sudo" and
# "how do I leave this group"). Leave one FAQ out on the four development FAQs (offline), a
# gap of 0.35-0.5 answers more (antd-en coverage 0.583 -> 0.600) and offers no more lists to
# out-of-scope messages; 0.3 and under gave youtube-dl's out-of-scope messages 0.35-0.40
CHATTER_MEANING_GAP = 0.4
# For a candidate in the other script than the message (an English question to a Chinese
# entry), the words say nothing (they share none with the title, so chatter always looks as
# close), and the encoder's cosines run lower (it reads the entry glossed): the lead asked is
# smaller. raw_faq_eval, leave one FAQ out: 0.3 answers one more raw Docker question (0.530 ->
# 0.535) and names a right entry in 7 more of its lists (0.226 -> 0.257), the out-of-scope
# rates unchanged; 0.2 offered one more list to an out-of-scope message, 0 took the raw Docker
# FAQ's out-of-scope lists to 0.329.
CROSS_CHATTER_GAP = 0.3
ERROR_KINDS: tuple[tuple[str, str], ...] = (
    ("permission", r"permission denied|access denied|operation not permitted|\beacces\b|\beperm\b|没有权限|没权限|权限不足|权限不够"),
    ("no-such-file", r"no such file or directory|\benoent\b|file not found|找不到文件"),
    ("no-command", r"command not found|not recognized as an internal or external command|executable file not found|不是内部或外部命令"),
    ("refused", r"connection refused|\beconnrefused\b|拒绝连接"),
    ("cannot-connect", r"can ?not connect|can't connect|could ?n[o']t connect|unable to connect|failed to connect|无法连接|连接不上|连不上"),
    ("not-running", r"is the [\w.-]+(?: [\w.-]+)? running|\bnot running\b|isn't running|没有运行|未运行|没启动|没有启动"),
    ("timeout", r"timed? ?out\b|timeout|deadline exceeded|超时"),
    ("in-use", r"already in use|already allocated|address in use|\beaddrinuse\b|被占用"),
    ("exec-format", r"exec format error"),
    ("no-space", r"no space left|disk (?:is )?full|磁盘满|空间不足"),
    ("memory", r"out of memory|oomkilled|cannot allocate memory|内存不足"),
    ("dns", r"could not resolve|name resolution|no such host|域名解析"),
    ("tls", r"certificate|\bx509\b|\bssl\b|tls handshake|证书"),
    ("auth", r"unauthorized|authentication required|\b401\b|incorrect username or password|认证失败|登录失败"),
    ("missing", r"\b404\b|not found|does not exist|不存在|找不到"),
    # a registry's own words for a missing tag: kind "missing" when kinds are compared (SAME_KIND),
    # but not boilerplate: they say which failure it is, as "exec format error" does
    ("manifest-unknown", r"manifest unknown"),
    ("read-only", r"read-only file system|只读文件系统"),
    ("crash", r"segmentation fault|core dumped|\bpanic\b"),
    ("too-many", r"too many open files|too many requests|\b429\b"),
    ("syntax", r"syntax error|unexpected token|invalid syntax|语法错误"),
)
_ERROR_RE = re.compile("|".join(f"(?P<k{i}>{rx})" for i, (_, rx) in enumerate(ERROR_KINDS)))
# wordings of one kind of failure kept apart only because one is boilerplate and the other is not
SAME_KIND = {"manifest-unknown": "missing"}
_KIND_NAMES = [name for name, _ in ERROR_KINDS]
_KIND_OF = tuple(_KIND_NAMES.index(SAME_KIND.get(name, name)) for name in _KIND_NAMES)


def error_kinds(text: str) -> frozenset[int]:
    """The kinds of failure (indexes into ERROR_KINDS, one per kind: SAME_KIND) a normalised text reports."""
    return frozenset(_KIND_OF[int(m.lastgroup[1:])] for m in _ERROR_RE.finditer(text)) if text else frozenset()


def _asks(title: str) -> bool:
    """The title is a question (about an error, say), not an error line."""
    return "?" in title or "？" in title


def boilerplate(text: str) -> str:
    """The words of the BOILERPLATE_KINDS failures a normalised text reports ("" for none)."""
    if not text:
        return ""
    return " ".join(m.group(0) for m in _ERROR_RE.finditer(text) if ERROR_KINDS[int(m.lastgroup[1:])][0] in BOILERPLATE_KINDS)


@dataclass(frozen=True)
class Weights:
    """How the signals are fused; tuned with `faqbot eval` on a labelled set."""

    word: float = 0.7  # word-token block of the TF-IDF vector (relative to the characters)
    char: float = 1.0  # character n-gram block
    phrasing: float = 0.60
    profile: float = 0.25
    keyword: float = 0.35
    fuzzy_phrasing: float = 0.15
    negative: float = 1.0  # how hard a closer out-of-scope phrasing pulls the confidence down
    negative_slack: float = 0.05
    scale: float = 1.25
    nb_alpha: float = 0.01  # naive Bayes smoothing
    nb_temperature: float = 2.0
    out_of_scope_prior: float = 0.3
    # weight of the glossary's words added to a message (bot/matching/glossary.py), relative to its own
    expansion: float = 0.5
    # a message whose best first-pass confidence is under this takes the second opinion
    # (bot/matching/second.py: whole-entry character TF-IDF and the optional sentence encoder); 0: never
    second_gate: float = 0.9


@dataclass(frozen=True)
class OutOfScope:
    """One out-of-scope topic: phrasings a pack (or the engine) does not answer.

    `pack` scopes it: a pack's negatives hold back only that pack's entries, so
    two packs loaded side by side do not silence each other; "" (the engine's
    generic chatter) holds back every entry.
    """

    phrasings: tuple[str, ...]
    pack: str = ""


@dataclass(frozen=True)
class Scored:
    index: int  # position of the entry in Index.entries
    score: float


@dataclass(frozen=True)
class Signals:
    """The evidence behind one candidate's confidence (features of the calibrator)."""

    posterior: float  # classifier probability of this entry
    out_of_scope: float  # classifier probability of the out-of-scope class
    runner_up: float  # classifier probability of the best other entry
    similarity: float  # fused similarity score
    phrasing: float
    profile: float
    keyword: float
    fuzzy: float
    negative: float  # best cosine to an out-of-scope phrasing
    similarity_margin: float  # similarity minus the best other candidate's
    agrees: bool  # the classifier's and the similarity's favourites coincide
    coverage: float = 1.0  # share of the message's word weight that the entry's text contains
    specific: float = 1.0  # how rare the message's words are in the pack (0: only words every entry uses)
    unmatched: float = 0.0  # share of the closest phrasing's telling words the message does not have
    # applied after the calibrator: < 1 for a message of generic words only, or one that
    # reports a kind of error the entry never mentions
    damping: float = 1.0
    # the second opinion (second.py), read only for messages the first pass is unsure of
    second: float = 0.0  # this entry's whole-entry score
    second_margin: float = 0.0  # minus the best other entry's (the best's: minus the runner-up's)
    second_used: bool = False
    dense: float = 0.0  # the sentence encoder's cosine alone (0 without one): off-topic questions stay low
    raw: bool = False  # rated by the second opinion's map (an entry of a raw import or taught in chat, Index.raw_entry)
    # the message is in the other script than the entry's title (an English question to a
    # Chinese entry): the first pass's scores are near nothing by construction then. Per
    # entry: a Chinese FAQ's error table is titled by English error lines, which an English
    # message meets word for word
    cross: bool = False


def _logit(p: float, floor: float = 0.01) -> float:
    # bounded, so that no single piece of evidence can decide alone
    p = min(max(p, floor), 1 - floor)
    return math.log(p / (1 - p))


FEATURES = (
    "posterior", "out_of_scope", "similarity", "phrasing", "keyword", "similarity_margin", "agrees", "runner_up", "coverage", "specific",
    "unmatched",
)


# "cross" lets the map tell a question in the other script, whose first-pass evidence is
# near nothing however right the candidate (the raw Docker FAQ's English development
# questions: 0.37 answered without it, 0.55 with it, leave one FAQ out, offline)
SECOND_FEATURES = FEATURES + ("second", "second_margin", "dense", "cross")


def second_feature_vector(sig: Signals) -> list[float]:
    return feature_vector(sig) + [sig.second, sig.second_margin, sig.dense, float(sig.cross)]


def feature_vector(sig: Signals) -> list[float]:
    return [
        _logit(sig.posterior),
        _logit(sig.out_of_scope),
        sig.similarity,
        sig.phrasing,
        sig.keyword,
        sig.similarity_margin,
        float(sig.agrees),
        _logit(sig.runner_up),
        sig.coverage,
        sig.specific,
        sig.unmatched,
    ]


@dataclass(frozen=True)
class Calibration:
    """Logistic map from a candidate's evidence to P(answer is right).

    The default coefficients were fitted by `faqbot knowledge calibrate` on the
    Docker pack (held-out aliases and negatives, never an evaluation set); a
    pack can carry its own in calibration.yaml.
    """

    coef: tuple[float, ...] = (0.3439, -0.627, 2.8645, 0.8139, 0.9974, -1.5232, 0.3806, -0.1128, 2.1188, 1.8361, 1.3019)
    intercept: float = -7.0565
    # for messages that took the second opinion (SECOND_FEATURES); empty: the first pass's map is used
    second_coef: tuple[float, ...] = ()
    second_intercept: float = 0.0

    def confidence(self, sig: Signals) -> float:
        if sig.raw and self.second_coef:
            return sig.damping * self.of_second(second_feature_vector(sig))
        return sig.damping * self.of(feature_vector(sig))

    def of(self, features: Sequence[float]) -> float:
        """P(right) for one candidate's features (in FEATURES order)."""
        return _sigmoid(self.intercept + sum(map(operator.mul, self.coef, features)))

    def of_second(self, features: Sequence[float]) -> float:
        """P(right) for one candidate's features in SECOND_FEATURES order (by the second map: callers check there is one)."""
        return _sigmoid(self.second_intercept + sum(map(operator.mul, self.second_coef, features)))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(z, -50.0), 50.0)))


@dataclass(frozen=True)
class _Evidence:
    """Every candidate of the pool with its signals, as parallel lists."""

    pool: list[int]  # entry positions
    confidence: list[float]
    posterior: list[float]
    runner_up: list[float]
    phrasing: list[float]
    profile: list[float]
    keyword: list[float]
    fuzzy: list[float]
    similarity: list[float]
    margin: list[float]
    agrees: list[bool]
    out_of_scope: list[float]
    negative: list[float]
    coverage: list[float]
    order: list[float]  # the confidence each candidate would have at the pool's best coverage
    specific: float = 1.0
    unmatched: list[float] = field(default_factory=list)
    damping: list[float] = field(default_factory=list)
    second: list[float] = field(default_factory=list)  # empty: the first pass only
    second_margin: list[float] = field(default_factory=list)
    dense: list[float] = field(default_factory=list)
    rated_second: list[bool] = field(default_factory=list)  # rated by the second opinion's map
    cross: list[bool] = field(default_factory=list)  # per candidate, Signals.cross

    def best(self, k: int) -> list[int]:
        """Pool slots of the k best candidates (the earlier slot wins a tie)."""
        return sorted(range(len(self.pool)), key=lambda i: (-self.order[i], -self.confidence[i]))[:k]


def _scoped(index: Index, neg_sims: np.ndarray, oos_posterior: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """Per scope: the closest out-of-scope phrasing that holds its entries back, the
    out-of-scope probability, and the factor that renormalises an entry's posterior
    without the classes of other packs' negatives (which say nothing about it)."""
    n_scopes = len(index.scope_names)
    if n_scopes == 1:
        neg = float(np.maximum.reduce(neg_sims)) if len(neg_sims) else 0.0
        return [neg], [float(np.add.reduce(oos_posterior))], [1.0]
    best = np.zeros(n_scopes)
    if len(neg_sims):
        np.maximum.at(best, index.negative_scope, neg_sims)
    mass = np.bincount(index.class_scope, weights=oos_posterior, minlength=n_scopes).tolist()
    total = sum(mass)
    negs = [float(best[0])] + [max(float(best[0]), float(b)) for b in best[1:]]
    oos = [mass[0]] + [mass[0] + m for m in mass[1:]]
    renorm = [1.0 / max(1.0 - (total - o), 1e-9) for o in oos]
    return negs, oos, renorm


def _coverage(index: Index, pool: Sequence[int], fids: np.ndarray, vals: np.ndarray) -> list[float]:
    """For each pool entry, the share of the message's telling weight (squared TF-IDF
    of its words and Chinese n-grams: idf-heavy ones count most) that occurs anywhere
    in the entry's text. A pasted error whose telling words the entry never mentions
    is probably another error, however many paths and keywords they share."""
    telling = index.telling
    if telling is None:
        return [1.0] * len(pool)
    mask = telling[fids]
    told = fids[mask].tolist()
    weight = dict(zip(told, (vals[mask] ** 2).tolist()))
    total = sum(weight.values())
    if not total:
        return [1.0] * len(pool)
    # frozenset.intersection walks the smaller side (dict_keys & frozenset walks the frozenset)
    return [sum(map(weight.__getitem__, have.intersection(weight))) / total for have in map(index.words_of, pool)]


def _query(index: Index, text: str) -> tuple[np.ndarray, np.ndarray]:
    """The message's vector, with the glossary's words for its terms added at
    `Weights.expansion` of its own weight (the sum renormalised)."""
    fids, vals = index.vectorizer.query(text)
    extra = index.glossary.expand(text, index.language) if index.glossary is not None and w_expansion(index) else ""
    if not extra:
        return fids, vals
    efids, evals = index.vectorizer.query(extra)
    if not len(efids):
        return fids, vals
    merged: dict[int, float] = dict(zip(fids.tolist(), vals.tolist()))
    scale = w_expansion(index) if len(fids) else 1.0
    for f, v in zip(efids.tolist(), evals.tolist()):
        merged[f] = merged.get(f, 0.0) + scale * v
    out_f = np.fromiter(merged.keys(), dtype=np.int64, count=len(merged))
    out_v = np.fromiter(merged.values(), dtype=np.float64, count=len(merged))
    out_v /= math.sqrt(float(np.dot(out_v, out_v)))
    return out_f, out_v


def w_expansion(index: Index) -> float:
    return index.weights.expansion


def _unmatched(
    index: Index, pool: Sequence[int], phrasing_sims: np.ndarray, fids: np.ndarray, boiler: frozenset = frozenset()
) -> tuple[list[float], list[bool]]:
    """For each pool entry, how much of its closest phrasing the message leaves out
    (rarity-weighted): "pass the host ip to a container as an environment variable"
    is not the question "how to pass environment variables to a container", nor
    "permission denied while trying to connect to the docker daemon socket" the
    error "cannot connect to the docker daemon ... is the daemon running?".

    And whether the message shares a word with the phrasing beyond the boilerplate
    failures it reports (`boiler`: their vocabulary columns); True when the phrasing
    says none of them (see BOILERPLATE_KINDS)."""
    have = set(fids.tolist())
    rows_of = index.phrasing_rows
    groups = [rows_of[pos] if pos < len(rows_of) else () for pos in pool]
    flat = [row for rows in groups for row in rows]
    sims = phrasing_sims[flat].tolist() if flat else []
    out, linked = [], []
    at = 0
    for rows in groups:
        if not rows:
            out.append(0.0)
            linked.append(True)
            continue
        part = sims[at : at + len(rows)]
        best = rows[part.index(max(part))]
        at += len(rows)
        terms, total = index.phrasing_terms(best)
        matched = sum(map(terms.__getitem__, have.intersection(terms)))
        # a phrasing with no telling word in the vocabulary (one taught in chat, before the
        # refit fits its words) says nothing the message could match: all of it is unmatched
        out.append((total - matched) / total if total else 1.0)
        # a word counts however common it is: "docker" in a Docker FAQ weighs next to nothing
        linked.append(not boiler or boiler.isdisjoint(terms) or any(f in have for f in terms if f not in boiler))
    return out, linked


def _second_at(scores: np.ndarray, pool: Sequence[int]) -> tuple[list[float], list[float]]:
    """Each pool entry's second-opinion score and its margin over the best other entry."""
    top2 = np.argpartition(-scores, 1)[:2] if len(scores) > 1 else np.asarray([0, 0])
    first, runner = sorted(top2.tolist(), key=lambda i: -scores[i])
    best, second_best = float(scores[first]), float(scores[runner]) if len(scores) > 1 else 0.0
    at = scores[list(pool)].tolist()
    return at, [s - (second_best if pos == first else best) for s, pos in zip(at, pool)]


def _evidence(
    index: Index, text: str, k: int, whole: Optional[np.ndarray] = None, dense: Optional[np.ndarray] = None, chatter_dense: Optional[float] = None
) -> Optional[_Evidence]:
    """The candidates and their evidence; `whole` (the second opinion: one score per entry, second.py)
    widens the pool, adds to the order and selects the second calibrator."""
    if not text or not len(index):
        return None
    w = index.weights
    fids, vals = _query(index, text)
    if not len(fids):
        return None
    n = len(index.entries)
    stacked, (c1, c2, c3) = index.stacked
    every = stacked.scores(fids, vals)  # one lookup for the four matrices
    prof, neg_sims, nb_dot = every[c1:c2], every[c2:c3], every[c3:]
    phr = index.best_phrasing(every[:c1])
    base = w.phrasing * phr + w.profile * prof
    off = index.nb_offset
    posterior = np.exp(index.nb.posterior_from(nb_dot, float(np.add.reduce(vals)), w.nb_temperature, index.log_prior))
    negs, oos, renorm = _scoped(index, neg_sims, posterior[:off])
    classes = posterior[off:]
    by_class = (-classes).argsort()[:4].tolist()
    exact = index.exact.get(text, ())
    pool = list(dict.fromkeys((-base).argsort()[: max(FUZZY_POOL, k)].tolist() + by_class + list(exact)))
    if whole is not None:
        pool = list(dict.fromkeys(pool + np.argsort(-whole)[:SECOND_POOL].tolist()))
    kws = keyword_pass(index.keyword_table, pool, text, index.keyword_specificity)
    fzs = fuzzy_phrasing_pass(index.phrasing_table, pool, text)
    cover = _coverage(index, pool, fids, vals)
    said = error_kinds(text)
    boiler = boilerplate(text) if said else ""
    # with the glossary's words for it: "permission denied" read as 没权限 is boilerplate too
    boiler_fids = frozenset(_query(index, boiler)[0].tolist()) if boiler else frozenset()
    unmatched, linked = _unmatched(index, pool, every[:c1], fids, boiler_fids)
    if boiler_fids:
        # a title asking about an error is reworded by whoever asks it; but a message in the
        # other script shares only the title's Latin words with it, and when those are the
        # boilerplate alone ("git push: Permission denied (publickey)" to "为什么执行 docker
        # 命令会报 permission denied？"), it is another program's failure
        said_in, scripts = script_of(text), index.title_scripts
        linked = [b or (_asks(index.entries[pos].question) and scripts[pos] == said_in) for pos, b in zip(pool, linked)]
    # generic words must not decide alone: a message made only of words every entry
    # uses ("docker 有问题" to a Docker FAQ) matches everything a little
    specific = float(np.dot(vals * vals, index.rarity[fids]) / max(float(np.dot(vals, vals)), 1e-12)) if index.rarity is not None else 1.0
    # the pool is a dozen candidates: plain Python from here on (numpy's per-call
    # cost would be most of the time)
    scope = [index.scope_of_entry(pos) for pos in pool]
    phr_at, prof_at, base_at = phr[pool].tolist(), prof[pool].tolist(), base[pool].tolist()
    post = [p * renorm[s] for p, s in zip(classes[pool].tolist(), scope)]
    # a message closer to a known out-of-scope phrasing (of the candidate's own pack,
    # or generic chatter) than to an entry's own phrasings is probably not its question
    kw_weight, fuzzy_weight, slack = w.keyword, w.fuzzy_phrasing, w.negative_slack
    neg_at = [negs[s] for s in scope]
    sim = [
        min(max((b + kw_weight * kw + fuzzy_weight * fz - w.negative * max(0.0, ng + slack - ph)) * w.scale, 0.0), 1.0)
        for b, kw, fz, ph, ng in zip(base_at, kws, fzs, phr_at, neg_at)
    ]
    first = max(range(len(pool)), key=sim.__getitem__)
    second = sorted(sim)[-2] if len(pool) > 1 else 0.0
    margin = [s - sim[first] for s in sim]
    margin[first] = sim[first] - second
    top, runner_class = by_class[0], by_class[min(1, n - 1)]
    top_p, runner_p = (float(classes[top]), float(classes[runner_class])) if n > 1 else (0.0, 0.0)
    runner = [(runner_p if pos == top else top_p) * renorm[s] for pos, s in zip(pool, scope)]
    agrees = [pos == pool[first] and pos == top for pos in pool]
    oos_at = [oos[s] for s in scope]
    of = index.calibration.of
    # coverage says how much of the message an entry leaves unexplained: it lowers
    # the confidence, but the order is the rest of the evidence's (a short entry
    # covering a long message's few words must not outrank the entry it is about)
    # the order is RANKING's; ties are broken by the pack's confidence
    full = max(cover)
    rank_of = RANKING.of
    shared = [
        (_logit(p), _logit(o), s, ph, kw, mg, float(ag), _logit(r))
        for p, o, s, ph, kw, mg, ag, r in zip(post, oos_at, sim, phr_at, kws, margin, agrees, runner)
    ]
    order_key = [rank_of(f + (full, specific, 0.0)) for f in shared]
    sec, sec_margin = _second_at(whole, pool) if whole is not None else ([], [])
    dense_at = dense[pool].tolist() if dense is not None else [0.0] * len(sec)
    # words nearly every entry uses cannot decide alone, whatever else agrees
    guard = min(1.0, specific / GENERIC_MESSAGE)
    errors = index.entry_errors
    # another kind of failure than the entry's, or the same boilerplate failure of another program
    mismatch = [
        ERROR_MISMATCH if (said and pos < len(errors) and said.isdisjoint(errors[pos])) or not link else 1.0
        for pos, link in zip(pool, linked)
    ]
    # closer to the engine's generic chatter than to anything the entry says: chit-chat
    # that happens to share a word ("谢谢大佬，问题解决了", "docker 真香 😂") gets no list
    # in the other script than both the FAQ and the entry's title (an English question to a
    # Chinese entry; not to the English error lines titling a Chinese FAQ's error table, nor a
    # Chinese question to those)
    crossing = bool(sec) and other_script(index.language, text)
    if crossing:
        said_in, scripts = script_of(text), index.title_scripts
        cross = [scripts[pos] != said_in for pos in pool]
    else:
        cross = [False] * len(pool)
    chatter = negs[0]
    chatty = [chatter >= max(ph, pr) for ph, pr in zip(phr_at, prof_at)]
    if chatter_dense is not None and dense is not None:
        # unless the sentence encoder reads the message as plainly about the entry, not chit-chat:
        # "容器里 ping 不通外网" shares "ping" with a test message, and a Chinese paraphrase of a
        # title shares few of its n-grams, so the words alone say chatter
        chatty = [ch and d - chatter_dense < (CROSS_CHATTER_GAP if c else CHATTER_MEANING_GAP) for ch, d, c in zip(chatty, dense_at, cross)]
    damping = [guard * mm * (CHATTER_DAMPING if ch else 1.0) for mm, ch in zip(mismatch, chatty)]
    if sec:
        # the second opinion's map rates the entries of raw imports and those taught in chat;
        # a hand-phrased pack's keep its own map (Index.raw_entry); and without the encoder's
        # scores (it failed to load) the map, fitted with them, rates nothing
        of2 = index.calibration.of_second
        rates = dense is not None and bool(index.calibration.second_coef)
        rated = [rates and index.raw_entry[pos] for pos in pool]
        confidence = [
            d * (of2(f + (cv, specific, um, s, m, ds, float(c))) if r else of(f + (cv, specific, um)))
            for r, f, cv, um, d, s, m, ds, c in zip(rated, shared, cover, unmatched, damping, sec, sec_margin, dense_at, cross)
        ]
    else:
        rated = [False] * len(pool)
        confidence = [d * of(f + (cv, specific, um)) for f, cv, um, d in zip(shared, cover, unmatched, damping)]
    for age, pos in enumerate(reversed(exact)):
        # the message is, after normalisation, one of the entry's own phrasings
        # (a title, an alias, a question taught in chat): that is decisive; when
        # several entries share it (a maintainer insisted on a new one), the newest wins
        i = pool.index(pos)
        confidence[i] = max(confidence[i], EXACT_PHRASING_CONFIDENCE - 0.01 * min(age, 10))
        order_key[i] = max(order_key[i], EXACT_PHRASING_CONFIDENCE + 0.01 - 0.01 * min(age, 10))
    if sec:
        # in log-odds: the first pass's preference among unlikely candidates (0.02 against
        # 0.001) stays a preference, which near-equal second-opinion scores must not undo
        weight = CROSS_SECOND_RANK if crossing else SECOND_RANK
        order_key = [
            _logit(o, 1e-6) + weight * s + DENSE_RANK * d + COVER_RANK * cv for o, s, d, cv in zip(order_key, sec, dense_at, cover)
        ]
    return _Evidence(
        pool, confidence, post, runner, phr_at, prof_at, kws, fzs, sim, margin, agrees, oos_at, neg_at, cover, order_key, specific, unmatched, damping,
        sec, sec_margin, dense_at, rated, cross,
    )


# The order of the candidates: a fixed logistic score over the same evidence (coverage
# and unmatched left out, so they can lower a confidence but never reorder), fitted
# once on the Docker pack's held-out aliases and kept apart from any pack's own
# calibration, so that a pack's fit from fewer or made-up questions changes how sure
# the bot is, never which entry comes first.
RANKING = Calibration(
    coef=(0.3136, -0.8138, 2.2703, -1.0447, 0.6796, -1.5188, 0.3576, -0.112, 2.3274, 2.0636, 0.0), intercept=-5.6088
)


def _ranked_evidence(index: Index, text: str, k: int, second: Optional[bool] = None) -> Optional[_Evidence]:
    """The first pass; then, for a message it is unsure of (best confidence under
    Weights.second_gate), the second opinion. `second` forces either (calibration)."""
    ev = None if second else _evidence(index, text, k)
    if second is None:
        second = ev is not None and index.wants_second and max(ev.confidence) < index.weights.second_gate
    if not second or not len(index):
        return ev
    from .second import second_opinion

    opinion = second_opinion(index)
    if opinion is None:
        return ev
    if index.repairs_messages:
        text = opinion.repaired(text, index.glossary)
    whole, dense = opinion.scores(text)
    return _evidence(index, text, k, whole, dense, opinion.chatter(text) if dense is not None else None)


def rank(index: Index, text: str, k: int = 5, second: Optional[bool] = None) -> list[Scored]:
    """Entries most likely to answer the (already normalised) text, best first; `second`
    False keeps to the first pass (None: the second opinion when the first is unsure)."""
    ev = _ranked_evidence(index, text, k, second)
    if ev is None:
        return []
    return [Scored(ev.pool[i], ev.confidence[i]) for i in ev.best(k)]


def rank_with_signals(index: Index, text: str, k: int = 5, second: Optional[bool] = None) -> list[tuple[int, float, Signals]]:
    """rank() with the evidence behind each confidence (for calibration and explanations);
    `second` True/False forces the second opinion on or off (None: as rank() decides)."""
    ev = _ranked_evidence(index, text, k, second)
    if ev is None:
        return []
    used = bool(ev.second)
    return [
        (
            ev.pool[i],
            ev.confidence[i],
            Signals(
                posterior=ev.posterior[i],
                out_of_scope=ev.out_of_scope[i],
                runner_up=ev.runner_up[i],
                similarity=ev.similarity[i],
                phrasing=ev.phrasing[i],
                profile=ev.profile[i],
                keyword=ev.keyword[i],
                fuzzy=ev.fuzzy[i],
                negative=ev.negative[i],
                similarity_margin=ev.margin[i],
                agrees=ev.agrees[i],
                coverage=ev.coverage[i],
                specific=ev.specific,
                unmatched=ev.unmatched[i],
                damping=ev.damping[i],
                second=ev.second[i] if used else 0.0,
                second_margin=ev.second_margin[i] if used else 0.0,
                second_used=used,
                dense=ev.dense[i] if used else 0.0,
                raw=ev.rated_second[i],
                cross=ev.cross[i] if used else False,
            ),
        )
        for i in ev.best(k)
    ]
