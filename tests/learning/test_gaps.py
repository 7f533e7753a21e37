"""Gaps (clusters of unanswered questions) and staleness, on questions and entries written here.

The clustering runs on the engine's own vectoriser with scikit-learn; the CLI
reads a real SQLite store's question log.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import yaml

from bot.cli import main
from bot.learning.gaps import gap_clusters, is_gap
from bot.learning.staleness import REASON_NEVER, REASON_OLD, REASON_VOTES, stale_entries, vote_counts
from bot.learning.usage_store import UsageStore
from bot.matching.normalize import normalize
from bot.matching.types import Entry
from bot.store import LoggedQuestion, Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
NEEDS = {
    "podman": ["podman 和 docker 有什么区别", "podman 跟 docker 的区别是什么", "用 podman 还是 docker 好", "podman 能替代 docker 吗"],
    "arm": ["how do I build an arm64 image on x86", "build arm64 docker image on an amd64 machine", "arm64 image build on my x86 laptop"],
    "wsl": ["wsl2 里 docker desktop 启动失败", "docker desktop 在 wsl2 下启动不了", "wsl2 docker desktop 启动报错"],
}


def _questions(needs=NEEDS, people=3, decision="unknown", mode="reply", top=()):
    out, i = [], 0
    for texts in needs.values():
        for text in texts:
            for person in range(people):
                i += 1
                out.append(LoggedQuestion(NOW - timedelta(minutes=i), "slack", f"C{person % 2}", normalize(text), mode,
                                          decision, top, "", f"U{person}{len(text)}", i))
    return out


def test_questions_of_the_same_need_cluster_together_and_rank_by_people():
    qs = _questions() + _questions({"one": ["今天中午吃什么"]}, people=1)
    clusters = gap_clusters(qs)
    by_need = {need: {normalize(t) for t in texts} for need, texts in NEEDS.items()}
    assert [set(c.queries) for c in clusters[:3]] == sorted(by_need.values(), key=lambda s: -len(s))
    podman = clusters[0]
    assert podman.asked == 12 and podman.people == 12  # each (user, wording) pair is a different person here
    assert clusters[-1].queries == ("今天中午吃什么",) and clusters[-1].people == 1
    assert podman.examples[0][1] == 3 and len(podman.examples) == 4
    assert podman.channels == ("slack:C0", "slack:C1")


def test_what_counts_as_a_gap():
    def q(mode, decision, top=()):
        return LoggedQuestion(NOW, "qq", "g", "x", mode, decision, top)
    assert is_gap(q("reply", "unknown")) and is_gap(q("reply", "suggest"))
    assert not is_gap(q("reply", "answer"))
    assert is_gap(q("ambient", "quiet", (("e", 0.4),)))  # overheard, nearly answered
    assert not is_gap(q("ambient", "quiet", (("e", 0.05),)))  # overheard chatter
    assert not is_gap(q("ambient", "answer", (("e", 0.9),)))


def test_answered_and_dismissed_questions_are_not_gaps():
    answered = _questions({"ok": ["docker pull 好慢"]}, decision="answer")
    dismissed = {normalize(t) for t in NEEDS["wsl"]}
    clusters = gap_clusters(_questions() + answered, dismissed=frozenset(dismissed))
    assert len(clusters) == 2 and not any(set(c.queries) & dismissed for c in clusters)
    assert gap_clusters([]) == []


def test_the_same_need_in_two_languages_need_not_merge_but_wordings_do():
    """A cluster is one need in one language: the page shows both and a maintainer can answer each."""
    qs = _questions({"zh": ["容器日志太大怎么清理", "容器日志占满磁盘怎么清理"], "en": ["container logs fill the disk", "container logs filling up the disk"]})
    assert sorted(len(c.queries) for c in gap_clusters(qs)) == [2, 2]


def test_stale_entries_by_age_never_reviewed_and_votes():
    entries = [
        Entry("fresh", 1, "q1", "a", reviewed="2026-06-01"),
        Entry("old", 2, "q2", "a", reviewed="2017-03-01"),
        Entry("never", 3, "q3", "a"),
        Entry("hated", 4, "q4", "a", reviewed="2026-11-01"),
        Entry("learned-1001", 1001, "q5", "a", learned=True, source="learned"),
        Entry("bad-date", 5, "q6", "a", reviewed="not a date"),
    ]
    votes = {"hated": (1, 4), "fresh": (2, 1), "learned-1001": (0, 3)}
    found = {s.entry_id: s for s in stale_entries(entries, votes, date(2026, 12, 1), max_age_days=365, down_ratio=0.5, min_votes=3)}
    assert set(found) == {"old", "never", "hated", "learned-1001", "bad-date"}
    assert found["old"].reasons == (REASON_OLD,) and found["old"].age_days > 3000
    assert found["never"].reasons == (REASON_NEVER,)
    assert found["hated"].reasons == (REASON_VOTES,) and found["hated"].down_ratio == 0.8
    assert found["learned-1001"].reasons == (REASON_VOTES,)  # learned entries: votes only
    worst = stale_entries(entries, votes, date(2026, 12, 1))[0]
    assert worst.entry_id == "learned-1001"  # voted down the most comes first
    assert vote_counts([type("V", (), {"entry_id": "x", "vote": v}) for v in ("up", "down", "down")]) == {"x": (1, 2)}


def test_faqbot_knowledge_gaps_reads_the_question_log(tmp_path: Path, sample_pack_dir: Path, capsys):
    config = tmp_path / "faqbot.yaml"
    config.write_text(yaml.safe_dump({"packs": [str(sample_pack_dir)], "data_dir": str(tmp_path / "data")}), encoding="utf-8")
    store = Store(tmp_path / "data")
    now = datetime.now(timezone.utc)
    for q in _questions():
        store.log_question(LoggedQuestion(now - (NOW - q.at), q.platform, q.channel, q.text, q.mode, q.decision, q.top, q.answered, q.user))
    UsageStore(store.engine).dismiss([normalize(t) for t in NEEDS["arm"]], "web:ann")
    store.close()
    assert main(["knowledge", "gaps", "--json", "--config", str(config)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [len(g["questions"]) for g in out["gaps"]] == [4, 3]
    assert out["gaps"][0]["people"] == 12 and out["gaps"][0]["title"] in {normalize(t) for t in NEEDS["podman"]}
    assert main(["knowledge", "gaps", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "12 people" in text and "arm64" not in text
    assert main(["knowledge", "stale", "--json", "--config", str(config)]) == 0
    assert {s["entry"].split("/")[-1] for s in json.loads(capsys.readouterr().out)["stale"]} == {
        "slow-pull", "sock-permission", "exits-immediately", "expose-vs-p", "volume-vs-bind", "start-on-boot"}  # never reviewed
