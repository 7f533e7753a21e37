"""Ranking, thresholds and the answer language, on queries written for these tests."""
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.naive_bayes import MultinomialNB

from bot.matching.classifier import NaiveBayes
from bot.matching.engine import LISTED_FLOOR, decide, listed
from bot.matching.fuzzy import keyword_score
from bot.matching.types import LANG_EN, LANG_ZH, Candidate, Decision, Entry, Mode, Reason, Thresholds


@pytest.mark.parametrize(
    "query, expected",
    [
        ("docker pull 好慢啊", "slow-pull"),
        ("拉个镜像半天拉不下来，有加速的办法吗", "slow-pull"),
        ("Got permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock", "sock-permission"),
        ("dial unix /var/run/docker.sock: connect: permission denied", "sock-permission"),
        ("容器一跑就退出", "exits-immediately"),
        ("my contianer exits immediatly after docker run", "exits-immediately"),
        ("EXPOSE 跟 -p 是一回事吗", "expose-vs-p"),
        ("should I use a named volume or a bind mount for my database files", "volume-vs-bind"),
        ("服务器重启以后容器都没自动起来", "start-on-boot"),
    ],
)
def test_the_right_entry_ranks_first(sample_engine, query, expected):
    result = sample_engine.ask(query)
    assert result.candidates[0].entry.id == expected
    assert 0.0 <= result.score <= 1.0


@pytest.mark.parametrize("query", ["大家好，新人报到", "thanks, that worked!", "哈哈哈哈", "今天中午吃什么"])
def test_chit_chat_is_never_answered_when_overheard(sample_engine, query):
    result = sample_engine.ask(query, Mode.AMBIENT)
    assert result.decision is Decision.NONE
    assert result.entry is None


def test_direct_question_gets_answer_or_candidates_but_overheard_needs_more(sample_engine):
    asked = sample_engine.ask("docker pull 好慢啊")
    assert asked.decision is Decision.ANSWER and asked.entry.id == "slow-pull"
    assert asked.answer_text().startswith("配置镜像加速器")
    vague = sample_engine.ask("docker 有问题", Mode.AMBIENT)
    assert vague.decision is Decision.NONE
    assert len(vague.candidates) <= sample_engine.thresholds.max_candidates


def test_answer_language_follows_the_question(sample_engine):
    en = sample_engine.ask("how do I run docker without sudo")
    assert en.lang == LANG_EN and en.answer_text().startswith("Add your user")
    zh = sample_engine.ask("不用 sudo 怎么跑 docker 命令")
    assert zh.lang == LANG_ZH and zh.answer_text().startswith("把用户加入")
    mixed = sample_engine.ask("docker 命令 permission denied 怎么办")
    assert mixed.lang == LANG_ZH


def test_entry_without_english_answer_falls_back_to_chinese():
    entry = Entry(id="x", n=1, question="q", answer="中文答案")
    assert entry.answer_for(LANG_EN) == "中文答案"


def _cands(*scores):
    return tuple(Candidate(Entry(id=f"e{i}", n=i, question="q", answer="a"), s) for i, s in enumerate(scores))


def test_decide_thresholds_and_ambiguity():
    t = Thresholds(reply=0.6, ambient=0.8, suggest=0.3, margin=0.05, decisive=0.95)
    assert decide(_cands(0.9, 0.2), t, Mode.REPLY) == (Decision.ANSWER, Reason.CONFIDENT)
    assert decide(_cands(0.7, 0.2), t, Mode.AMBIENT) == (Decision.NONE, Reason.LOW_CONFIDENCE)
    assert decide(_cands(0.85, 0.2), t, Mode.AMBIENT) == (Decision.ANSWER, Reason.CONFIDENT)
    assert decide(_cands(0.5, 0.2), t, Mode.REPLY) == (Decision.SUGGEST, Reason.LOW_CONFIDENCE)
    assert decide(_cands(0.1), t, Mode.REPLY) == (Decision.NONE, Reason.NO_MATCH)
    # two close candidates: offer both rather than guess, unless the top one is decisive
    assert decide(_cands(0.70, 0.68), t, Mode.REPLY) == (Decision.SUGGEST, Reason.AMBIGUOUS)
    assert decide(_cands(0.97, 0.96), t, Mode.REPLY) == (Decision.ANSWER, Reason.CONFIDENT)
    assert decide(_cands(0.90, 0.88), t, Mode.AMBIENT) == (Decision.NONE, Reason.AMBIGUOUS)
    assert decide((), t, Mode.REPLY) == (Decision.NONE, Reason.NO_MATCH)


def test_a_list_is_offered_when_its_candidates_together_are_likely_enough():
    t = Thresholds(reply=0.65, suggest=0.40, max_candidates=3)
    # no one candidate is at 0.40, but the list holds the answer with chance 0.45
    assert decide(_cands(0.25, 0.12, 0.08), t, Mode.REPLY) == (Decision.SUGGEST, Reason.LOW_CONFIDENCE)
    # one middling candidate alone is not enough: 0.35 < 0.40
    assert decide(_cands(0.35, 0.02, 0.01), t, Mode.REPLY) == (Decision.NONE, Reason.NO_MATCH)
    # only the candidates a list can name count: the fourth one does not
    assert decide(_cands(0.15, 0.12, 0.1, 0.1), t, Mode.REPLY)[0] is Decision.NONE
    assert decide(_cands(0.15, 0.12, 0.1, 0.1), replace(t, max_candidates=4), Mode.REPLY)[0] is Decision.SUGGEST
    # overheard, the bot never lists: likely enough is only the reason it stays quiet
    assert decide(_cands(0.25, 0.12, 0.08), t, Mode.AMBIENT) == (Decision.NONE, Reason.LOW_CONFIDENCE)


def test_a_list_names_the_first_candidate_and_those_with_some_support():
    t = Thresholds(max_candidates=3)
    got = listed(_cands(0.3, LISTED_FLOOR, LISTED_FLOOR - 0.001, 0.2), t)
    assert [c.score for c in got] == [0.3, LISTED_FLOOR]
    assert [c.score for c in listed(_cands(0.01, 0.005), t)] == [0.01]  # the first always
    assert listed((), t) == ()


def test_a_confidence_never_rounds_up_to_certainty(sample_engine, monkeypatch):
    """A bar of 1.0 means "never answer": a confidence of 0.99996 rounds to 0.9999, not 1.0."""
    from bot.matching import engine as engine_mod
    from bot.matching.matcher import Scored

    monkeypatch.setattr(engine_mod, "rank", lambda index, text, k=5, second=None: [Scored(0, 0.99996), Scored(1, 0.00001)])
    result = sample_engine.ask("docker pull 好慢啊怎么办？")
    assert result.candidates[0].score == 0.9999
    assert decide(result.candidates, Thresholds(reply=1.0), Mode.REPLY)[0] is not Decision.ANSWER


def test_empty_message_is_not_matched(sample_engine):
    for text in ("", "   ", "[CQ:face,id=1]", "<@U123>", "？？？"):
        result = sample_engine.ask(text)
        assert result.decision is Decision.NONE and result.reason is Reason.EMPTY


def test_one_short_keyword_cannot_score_full_marks():
    assert keyword_score(["mount"], "how do i mount a thing") < 0.5
    assert keyword_score(["dial unix /var/run/docker.sock: connect: permission denied"], "error: dial unix /var/run/docker.sock: connect: permission denied") == 1.0
    # a typo in a long pasted error still counts
    assert keyword_score(["dial unix /var/run/docker.sock: connect: permission denied"], "dial unix /var/run/docker.sock: conect: permision denied") > 0.5


def test_naive_bayes_equals_scikit_learn():
    rng = np.random.default_rng(0)
    rows = sp.random(40, 30, density=0.2, random_state=1, format="csr")
    labels = rng.integers(0, 4, size=40)
    ours = NaiveBayes.fit(rows, labels, 4, alpha=0.1)
    theirs = MultinomialNB(alpha=0.1, fit_prior=False).fit(rows, labels)
    query = sp.random(1, 30, density=0.3, random_state=2, format="csr")
    fids, vals = query.indices.astype(np.int64), query.data
    assert np.allclose(ours.log_posterior(fids, vals), theirs.predict_log_proba(query)[0])
    # adding documents to a class is the same as having trained with them
    more = sp.random(3, 30, density=0.3, random_state=3, format="csr")
    grown = ours.add(2, more)
    retrained = MultinomialNB(alpha=0.1, fit_prior=False).fit(sp.vstack([rows, more]), np.concatenate([labels, [2, 2, 2]]))
    assert np.allclose(grown.log_posterior(fids, vals), retrained.predict_log_proba(query)[0])


def test_entries_added_in_place_are_answerable(sample_engine):
    entry = Entry(
        id="learned-1", n=1001, question="怎么清理 build cache", answer="用 `docker builder prune`。",
        aliases=("build cache 太大了怎么清",),
    )
    index = sample_engine.index.with_entry(entry)
    from bot.matching.matcher import rank
    from bot.matching.normalize import normalize

    top = rank(index, normalize("怎么清理 build cache"), 1)[0]
    assert index.entries[top.index].id == "learned-1"


def test_concurrent_readers_see_whole_indexes(sample_engine, sample_pack_dir):
    import threading

    from bot.knowledge.pack import load_pack

    errors = []

    def reader():
        for _ in range(50):
            try:
                assert sample_engine.ask("docker pull 好慢啊").candidates[0].entry.id == "slow-pull"
            except Exception as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    pack = load_pack(sample_pack_dir)
    for _ in range(3):
        sample_engine.replace_entries(pack.entries, [pack])
    for t in threads:
        t.join()
    assert not errors


def test_exact_phrasing_of_an_entry_learned_in_place_is_decisive(sample_engine):
    # none of these words is in the fitted vocabulary: only the exact match can find it
    entry = Entry(id="learned-2", n=1002, question="zxqv frobnicate quux", answer="答案")
    index = sample_engine.index.with_entry(entry)
    from bot.matching.matcher import rank
    from bot.matching.normalize import normalize

    top = rank(index, normalize("ZXQV frobnicate quux"), 3)[0]
    assert index.entries[top.index].id == "learned-2" and top.score >= 0.99


def test_the_newest_of_entries_sharing_a_phrasing_wins(sample_engine):
    from bot.matching.matcher import rank
    from bot.matching.normalize import normalize

    older = Entry(id="learned-3", n=1003, question="zxqv 的容器连不上", answer="旧答案")
    newer = Entry(id="learned-4", n=1004, question="zxqv 的容器连不上", answer="新答案")
    index = sample_engine.index.with_entry(older).with_entry(newer)
    ranked = rank(index, normalize("zxqv 的容器连不上"), 3)
    assert [index.entries[s.index].id for s in ranked[:2]] == ["learned-4", "learned-3"]
    cands = tuple(Candidate(index.entries[s.index], s.score) for s in ranked)
    assert decide(cands, sample_engine.thresholds, Mode.REPLY) == (Decision.ANSWER, Reason.CONFIDENT)
