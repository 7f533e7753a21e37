"""bot.learning.feedback: votes on answers, in the store's database (SQLite in a temporary data directory)."""
from __future__ import annotations

import json
import threading

import pytest

from bot.learning.feedback import FILE_NAME, EntryFeedback, FeedbackStore, Vote


def test_a_vote_is_stored_and_survives_a_restart(tmp_path):
    store = FeedbackStore(tmp_path / "data", clock=lambda: "2024-01-02T03:04:05+00:00")
    store.record("slack", "U1", "slow-pull", "docker pull is slow", "up", "C1:1.1")
    assert FeedbackStore(tmp_path / "data").votes() == store.votes() == [Vote(
        platform="slack", user="U1", entry_id="slow-pull", query="docker pull is slow",
        vote="up", answer="C1:1.1", at="2024-01-02T03:04:05+00:00",
    )]


def test_a_second_click_by_the_same_user_on_the_same_answer_replaces_the_first(tmp_path):
    store = FeedbackStore(tmp_path)
    store.record("slack", "U1", "e1", "q", "up", "C1:1.1")
    store.record("slack", "U2", "e1", "q", "up", "C1:1.1")
    store.record("slack", "U1", "e1", "q", "down", "C1:1.1")
    store.record("slack", "U1", "e1", "q", "up", "C1:2.2")  # another answer: another vote
    reloaded = FeedbackStore(tmp_path).votes()
    assert [(v.user, v.answer, v.vote) for v in reloaded] == [("U2", "C1:1.1", "up"), ("U1", "C1:1.1", "down"), ("U1", "C1:2.2", "up")]


def test_summary_per_entry_worst_first_with_the_failed_questions(tmp_path):
    store = FeedbackStore(tmp_path)
    store.record("slack", "U1", "good", "q1", "up", "C:1")
    store.record("slack", "U1", "bad", "why slow", "down", "C:2")
    store.record("qq", "10001", "bad", "why slow", "down", "G:3")
    store.record("slack", "U2", "bad", "pull stuck", "down", "C:2")
    store.record("slack", "U3", "bad", "", "up", "C:2")
    assert store.summary() == [
        EntryFeedback("bad", ups=1, downs=3, down_queries=("why slow", "pull stuck")),
        EntryFeedback("good", ups=1, downs=0, down_queries=()),
    ]
    assert [v.user for v in store.votes("good")] == ["U1"]


@pytest.mark.parametrize("args", [
    ("slack", "U1", "e", "q", "maybe", "C:1"),
    ("slack", "", "e", "q", "up", "C:1"),
    ("slack", "U1", "  ", "q", "up", "C:1"),
    ("", "U1", "e", "q", "up", "C:1"),
])
def test_bad_votes_are_refused_and_nothing_is_written(tmp_path, args):
    store = FeedbackStore(tmp_path)
    with pytest.raises(ValueError):
        store.record(*args)
    assert store.votes() == [] and not (tmp_path / FILE_NAME).exists()


def test_long_fields_are_capped(tmp_path):
    vote = FeedbackStore(tmp_path).record("slack", "U1", "e", "x" * 5000, "up", "C:1")
    assert len(vote.query) == 500


def test_an_unreadable_file_is_moved_aside_not_overwritten(tmp_path):
    (tmp_path / FILE_NAME).write_text("{ not json", encoding="utf-8")
    store = FeedbackStore(tmp_path)
    assert store.votes() == []  # the store opens (and imports) on first use
    aside = list(tmp_path.glob(f"{FILE_NAME}.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8") == "{ not json"
    store.record("slack", "U1", "e", "q", "up", "C:1")
    assert len(FeedbackStore(tmp_path).votes()) == 1


def test_votes_of_the_old_feedback_file_are_imported_once(tmp_path):
    old = [{"platform": "slack", "user": f"U{i}", "entry_id": "e", "query": "q", "vote": "up", "answer": "C:1",
            "at": "2024-01-02T03:04:05+00:00"} for i in range(3)]
    (tmp_path / FILE_NAME).write_text(json.dumps({"version": 1, "votes": old}), encoding="utf-8")
    store = FeedbackStore(tmp_path)
    assert [v.user for v in store.votes()] == ["U0", "U1", "U2"]
    assert not (tmp_path / FILE_NAME).exists() and len(list(tmp_path.glob(f"{FILE_NAME}.imported-*"))) == 1
    assert len(FeedbackStore(tmp_path).votes()) == 3  # the second start imports nothing again


def test_concurrent_votes_are_all_kept_and_the_file_stays_whole(tmp_path):
    store = FeedbackStore(tmp_path)
    start = threading.Barrier(8)

    def voter(i: int) -> None:
        start.wait()
        for j in range(5):
            store.record("slack", f"U{i}", "e", "q", "up" if j % 2 else "down", f"C:{j}")

    threads = [threading.Thread(target=voter, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(FeedbackStore(tmp_path).votes()) == 40
