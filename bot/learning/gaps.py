"""Gaps: what people ask that the bot cannot answer, grouped into needs.

A gap question is one asked directly that got "don't know" or only a
did-you-mean list, or one overheard (ambient) that came near an answer
without reaching it. Questions with the same need are clustered: they are
vectorised with the engine's own TF-IDF vectoriser (bot.matching.vectorize.Vectorizer:
the same command-aware word tokens and character n-grams, fitted here on the
gap questions themselves so that words the packs never use still count), and
grouped by scikit-learn's average-linkage agglomerative clustering under a
cosine-distance threshold. Clusters are ranked by how many different people
asked, then by how many times.

Pure: questions in, clusters out. The log, the dismissals and the engine are
passed in by the caller (the CLI, the web page).
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Optional, Sequence

import numpy as np

DEFAULT_DISTANCE = 0.6  # cosine distance under which two questions are the same need (average linkage)
MAX_TEXTS = 2000  # the most recent distinct gap questions clustered (the distance matrix is n²)
NEAR_MISS = 0.25  # an ambient question whose best confidence reached this is a near miss
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class GapCluster:
    id: str  # stable while its most asked question stays the most asked
    title: str  # the most asked question
    people: int  # distinct askers (questions, when user ids are not kept)
    asked: int  # questions in the cluster
    examples: tuple[tuple[str, int], ...]  # (question, times asked), most asked first
    queries: tuple[str, ...]  # every distinct question in it
    channels: tuple[str, ...]  # "platform:channel"
    nearest: tuple[tuple[str, float], ...]  # entries the bot half-thought of: (entry key, best confidence)
    first_at: datetime
    last_at: datetime


def is_gap(q: Any, near_miss: float = NEAR_MISS) -> bool:
    """Asked directly and not answered; or overheard and nearly answered."""
    if q.mode == "reply":
        return q.decision in ("unknown", "suggest")
    top = q.top[0][1] if q.top else 0.0
    return q.decision != "answer" and top >= near_miss


def cluster_id(text: str) -> str:
    return "gap-" + hashlib.blake2s(text.encode(), digest_size=6).hexdigest()


def _asker(q: Any) -> str:
    return f"{q.platform}:{q.user}" if q.user else f"{q.platform}:{q.channel}:#{q.id if q.id is not None else id(q)}"


def _labels(texts: Sequence[str], weights: Any, distance: float) -> np.ndarray:
    if len(texts) == 1:
        return np.zeros(1, dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    from ..matching.vectorize import Vectorizer

    vectors = Vectorizer(weights).fit_transform(list(texts))  # rows are L2-normalised
    similarity = (vectors @ vectors.T).toarray()
    dist = np.clip(1.0 - similarity, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    model = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average", distance_threshold=distance)
    return model.fit_predict(dist)


def gap_clusters(
    questions: Iterable[Any],
    weights: Any = None,
    dismissed: frozenset[str] = frozenset(),
    distance: float = DEFAULT_DISTANCE,
    near_miss: float = NEAR_MISS,
    max_texts: int = MAX_TEXTS,
) -> list[GapCluster]:
    """Gap questions (bot.store LoggedQuestion, newest first) grouped by need; most people first.

    `dismissed`: normalised questions a maintainer dismissed; they are left out.
    """
    if weights is None:
        from ..matching.matcher import Weights

        weights = Weights()
    by_text: dict[str, list[Any]] = {}
    for q in questions:
        text = (q.text or "").strip()
        if not text or text in dismissed or not is_gap(q, near_miss):
            continue
        if text not in by_text and len(by_text) >= max_texts:
            continue
        by_text.setdefault(text, []).append(q)
    if not by_text:
        return []
    texts = list(by_text)
    labels = _labels(texts, weights, distance)
    groups: dict[int, list[str]] = {}
    for text, label in zip(texts, labels):
        groups.setdefault(int(label), []).append(text)
    return sorted((_cluster(members, by_text) for members in groups.values()),
                  key=lambda c: (-c.people, -c.asked, -c.last_at.timestamp(), c.title))


def _cluster(members: list[str], by_text: dict[str, list[Any]]) -> GapCluster:
    asked = Counter({t: len(by_text[t]) for t in members})
    ranked = sorted(members, key=lambda t: (-asked[t], -len({_asker(q) for q in by_text[t]}), t))
    qs = [q for t in members for q in by_text[t]]
    nearest: dict[str, float] = {}
    for q in qs:
        for key, score in q.top[:3]:
            nearest[key] = max(nearest.get(key, 0.0), float(score))
    return GapCluster(
        id=cluster_id(ranked[0]),
        title=ranked[0],
        people=len({_asker(q) for q in qs}),
        asked=len(qs),
        examples=tuple((t, asked[t]) for t in ranked[:MAX_EXAMPLES]),
        queries=tuple(ranked),
        channels=tuple(dict.fromkeys(f"{q.platform}:{q.channel}" for q in qs)),
        nearest=tuple(sorted(nearest.items(), key=lambda kv: -kv[1])[:3]),
        first_at=min(q.at for q in qs),
        last_at=max(q.at for q in qs),
    )


def find_cluster(clusters: Sequence[GapCluster], cluster: str) -> Optional[GapCluster]:
    return next((c for c in clusters if c.id == cluster), None)


def as_json(c: GapCluster) -> dict:
    return {
        "id": c.id, "title": c.title, "people": c.people, "asked": c.asked,
        "examples": [{"question": t, "asked": n} for t, n in c.examples],
        "questions": list(c.queries), "channels": list(c.channels),
        "nearest": [{"entry": k, "confidence": round(s, 3)} for k, s in c.nearest],
        "first_at": c.first_at.isoformat(), "last_at": c.last_at.isoformat(),
    }
