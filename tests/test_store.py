"""The learned store on the real file system: format, refusal of damaged files,
atomic writes under crashes, and serialisation between threads and processes."""
from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import store as learned_store
from bot.store import AUDIT_FILE, LEARNED_FILE, TMP_PREFIX, AuditRecord, EventState, Knowledge, LearnedAlias, LearnedEntry
from bot.store import LearnedStore, Rejection, Source, StoreError

FORK = multiprocessing.get_context("fork")


def entry(i: int, answer: str = "") -> LearnedEntry:
    return LearnedEntry(
        id=f"learned-{i}", n=i, question=f"问题 {i}", answer=answer or f"回答 {i}",
        source=Source("qq", "group-1", (f"m{i}", f"q{i}"), ""), created_by="qq:10001",
        created_at="2024-05-01T10:00:00+00:00", event=f"qq:teach:{i}",
    )


def audit(i: int) -> AuditRecord:
    return AuditRecord("2024-05-01T10:00:00+00:00", "qq:10001", "qq", "group-1", (f"m{i}",), "teach_pair", f"qq:teach:{i}", "created")


def add_entry(store: LearnedStore, i: int) -> Knowledge:
    with store.transaction() as txn:
        done = txn.commit(txn.knowledge.with_entry(entry(i)))
        txn.audit(audit(i))
    return done


def test_round_trip_is_human_readable_yaml(tmp_path: Path):
    store = LearnedStore(tmp_path)
    with store.transaction() as txn:
        k = txn.knowledge.with_entry(entry(1001, answer="第一行\n`docker logs -f web`"))
        k = k.with_alias(LearnedAlias("slow-pull", "镜像拉不动", "slack:U1", "2024-05-01T10:00:00+00:00", "slack:r:1"))
        k = k.with_rejection(Rejection("容器日志在哪", "exits-immediately", "slack:U1", "2024-05-01T10:00:00+00:00", "slack:r:2"))
        written = txn.commit(k)
    text = (tmp_path / LEARNED_FILE).read_text(encoding="utf-8")
    assert "问题 1001" in text and "镜像拉不动" in text  # readable, not \u-escaped
    assert "answer: |-\n      第一行\n      `docker logs -f web`\n" in text  # multi-line answers as literal blocks
    assert yaml.safe_load(text)["aliases"]["slow-pull"][0]["text"] == "镜像拉不动"
    reloaded = LearnedStore(tmp_path).load()
    assert reloaded == written and reloaded.revision == 1 and reloaded.next_n == 1002


def test_a_missing_data_dir_reads_as_empty_and_is_not_created(tmp_path: Path):
    store = LearnedStore(tmp_path / "not-yet")
    assert store.load() == Knowledge()
    assert not (tmp_path / "not-yet").exists()


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"version: 1\nentries:\n  - id: learned-1001\n    question: \"unfinished", "not valid YAML"),
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"- a list\n- not a mapping\n", "must be a mapping"),
        (b"version: 1\nentries:\n  - id: learned-1001\n    n: 1001\n    question: q\n", "missing 'answer'"),
        (b"version: 7\n", "unknown format version"),
    ],
)
def test_a_damaged_file_is_refused_and_left_untouched(tmp_path: Path, content: bytes, problem: str):
    path = tmp_path / LEARNED_FILE
    path.write_bytes(content)
    store = LearnedStore(tmp_path)
    with pytest.raises(StoreError) as err:
        store.load()
    assert str(path) in str(err.value) and problem in str(err.value)
    with pytest.raises(StoreError):
        with store.transaction():
            pass
    assert path.read_bytes() == content


def test_every_change_rereads_what_other_writers_committed(tmp_path: Path):
    one, two = LearnedStore(tmp_path), LearnedStore(tmp_path)  # two processes' worth of stores
    add_entry(one, 1)
    add_entry(two, 2)
    add_entry(one, 3)
    k = two.load()
    assert [e.n for e in k.entries] == [1, 2, 3] and k.revision == 3


def test_gesture_keys_are_remembered_up_to_a_bound(tmp_path: Path):
    k = Knowledge()
    for i in range(5):
        k = k.marked(f"key-{i}", EventState.APPLIED, "now", keep=3)
    k = k.marked("key-3", EventState.UNDONE, "later", keep=3)
    assert [m.key for m in k.events] == ["key-2", "key-4", "key-3"]
    assert k.event_state("key-0") is None and k.event_state("key-3") is EventState.UNDONE
    assert not k.has_applied("key-3") and k.has_applied("key-4")


def test_removing_a_learned_entry_takes_what_hung_on_it(tmp_path: Path):
    k = Knowledge().with_entry(entry(1001)).with_entry(entry(1002))
    k = k.with_alias(LearnedAlias("learned-1001", "另一种问法", "qq:1", "t", "qq:alias:1"))
    k = k.with_alias(LearnedAlias("slow-pull", "拉不动", "qq:1", "t", "qq:alias:2"))
    k = k.with_rejection(Rejection("问题", "learned-1001", "qq:1", "t", "qq:reject:1"))
    gone = k.without_event("qq:teach:1001")
    assert [e.id for e in gone.entries] == ["learned-1002"]
    assert [a.entry_id for a in gone.aliases] == ["slow-pull"] and gone.rejections == ()
    assert k.without_entry("learned-1001") == gone


def test_audit_log_survives_a_torn_line(tmp_path: Path):
    store = LearnedStore(tmp_path)
    add_entry(store, 1)
    with open(tmp_path / AUDIT_FILE, "ab") as fh:
        fh.write(b'{"at": "2024-05-01", "who": "qq:1", "acti')  # a writer killed mid-line
    add_entry(store, 2)
    records = store.read_audit()
    assert [r["event"] for r in records] == ["qq:teach:1", "qq:teach:2"]
    assert all(set(r) >= {"at", "who", "platform", "channel", "message_ids", "action", "event", "result"} for r in records)


# -- crashes ---------------------------------------------------------------------


def _crash_in(store_dir: Path, patch: str) -> None:
    """Child process: commit one entry, dying at the patched point."""
    if patch == "before-rename":
        os.replace = lambda *a, **k: os._exit(17)
    else:  # half of the temporary file written, then the power goes
        real_write = os.write
        os.write = lambda fd, data: real_write(fd, bytes(data)[: len(data) // 2]) and os._exit(17)
    add_entry(LearnedStore(store_dir), 2)
    os._exit(0)  # not reached when the crash point was hit


@pytest.mark.parametrize("patch", ["before-rename", "mid-write"])
def test_a_crash_during_a_write_leaves_the_old_file(tmp_path: Path, patch: str):
    store = LearnedStore(tmp_path)
    add_entry(store, 1)
    before = (tmp_path / LEARNED_FILE).read_bytes()
    child = FORK.Process(target=_crash_in, args=(tmp_path, patch))
    child.start()
    child.join(30)
    assert child.exitcode == 17
    assert list(tmp_path.glob(f"{TMP_PREFIX}*")), "the crash should have left its temporary file"
    assert (tmp_path / LEARNED_FILE).read_bytes() == before
    assert [e.n for e in LearnedStore(tmp_path).load().entries] == [1]
    add_entry(store, 3)  # the next writer cleans up and carries on
    assert not list(tmp_path.glob(f"{TMP_PREFIX}*"))
    assert [e.n for e in LearnedStore(tmp_path).load().entries] == [1, 3]


def _commit_forever(store_dir: Path, start: int) -> None:
    store = LearnedStore(store_dir)
    i = start
    while True:
        add_entry(store, i)
        i += 1


def test_killed_at_random_moments_the_file_is_always_whole(tmp_path: Path):
    rng = random.Random(7)
    store = LearnedStore(tmp_path)
    committed = 0
    for _ in range(6):
        child = FORK.Process(target=_commit_forever, args=(tmp_path, committed + 1))
        child.start()
        deadline = time.monotonic() + 20
        while store.load().revision < committed + 2 and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.03))  # then kill it wherever it is: writing, fsyncing, renaming
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        k = LearnedStore(tmp_path).load()  # a fresh reader: no cache
        assert [e.n for e in k.entries] == list(range(1, len(k.entries) + 1))
        assert k.revision == len(k.entries) > committed
        committed = len(k.entries)
    audited = [int(r["event"].rsplit(":", 1)[1]) for r in store.read_audit()]
    # the audit line follows the commit, so a kill between the two may lose only that line
    assert audited == sorted(set(audited)) and len(audited) >= committed - 6


# -- concurrency -------------------------------------------------------------------


def _writer_process(store_dir: Path, proc: int, threads: int, per_thread: int) -> None:
    store = LearnedStore(store_dir)
    workers = [
        threading.Thread(target=lambda t=t: [add_entry(store, proc * 1000 + t * 100 + i) for i in range(per_thread)])
        for t in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_concurrent_writers_in_threads_and_processes_lose_nothing(tmp_path: Path):
    procs = [FORK.Process(target=_writer_process, args=(tmp_path, p, 3, 6)) for p in range(1, 5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    k = LearnedStore(tmp_path).load()
    expected = {p * 1000 + t * 100 + i for p in range(1, 5) for t in range(3) for i in range(6)}
    assert sorted(e.n for e in k.entries) == sorted(expected)
    assert k.revision == len(expected) == 72
    assert len(LearnedStore(tmp_path).read_audit()) == 72


@settings(max_examples=150, deadline=None)
@given(question=st.text(min_size=1), answer=st.text(min_size=1), alias=st.text(min_size=1), key=st.text(min_size=1))
def test_any_text_reads_back_exactly(question: str, answer: str, alias: str, key: str):
    k = Knowledge(revision=3, next_n=1002).with_entry(replace(entry(1001), question=question, answer=answer, event=key))
    k = k.with_alias(LearnedAlias(key, alias, "qq:1", "t", key)).marked(key, EventState.APPLIED, "t", keep=10)
    assert learned_store.parse_knowledge(learned_store.dump_knowledge(k).encode("utf-8"), Path("learned.yaml")) == k
