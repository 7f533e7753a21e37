"""The store on real databases: SQLite in a temporary data directory and a real
PostgreSQL server (tests/support/pg_server.py) — every test taking `db_url` runs on both.

What it must keep: what was committed reads back exactly, in every process;
writers in threads and processes serialise (nothing lost, nothing doubled); a
writer killed at any moment leaves only whole, acknowledged changes; event
claims are won once; the question log's API; the schema is what the
migrations make; and an old data directory is imported once, files kept.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import multiprocessing
import os
import random
import signal
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from bot.store import AUDIT_FILE, LEARNED_FILE, AuditRecord, EventState, Knowledge, LearnedAlias, dump_knowledge, parse_knowledge
from bot.store import LearnedEntry, LoggedQuestion, Rejection, Source, Store, StoreError
from bot.store.database import describe, head_revision
from bot.store.legacy import FEEDBACK_FILE
from bot.store.schema import metadata
from tests.support.pg_server import db_url, postgres_server  # noqa: F401  (fixtures)

FORK = multiprocessing.get_context("fork")
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def entry(i: int, answer: str = "") -> LearnedEntry:
    return LearnedEntry(
        id=f"learned-{i}", n=i, question=f"问题 {i}", answer=answer or f"回答 {i}",
        source=Source("qq", "group-1", (f"m{i}", f"q{i}"), ""), created_by="qq:10001",
        created_at="2024-05-01T10:00:00+00:00", event=f"qq:teach:{i}",
    )


def audit(i: int) -> AuditRecord:
    return AuditRecord("2024-05-01T10:00:00+00:00", "qq:10001", "qq", "group-1", (f"m{i}",), "teach_pair", f"qq:teach:{i}", "created")


def add_entry(store: Store, i: int) -> Knowledge:
    with store.transaction() as txn:
        txn.audit(audit(i))
        return txn.commit(txn.knowledge.with_entry(entry(i)).marked(f"qq:teach:{i}", EventState.APPLIED, "t", 1000))


def full_knowledge(store: Store) -> Knowledge:
    with store.transaction() as txn:
        k = txn.knowledge.with_entry(entry(1001, answer="第一行\n`docker logs -f web`"))
        k = k.with_alias(LearnedAlias("slow-pull", "镜像拉不动", "slack:U1", "2024-05-01T10:00:00+00:00", "slack:r:1"))
        k = k.with_rejection(Rejection("容器日志在哪", "exits-immediately", "slack:U1", "2024-05-01T10:00:00+00:00", "slack:r:2"))
        k = k.marked("slack:r:1", EventState.APPLIED, "t1", 10).marked("slack:r:0", EventState.UNDONE, "t2", 10)
        return txn.commit(k)


# -- what is committed reads back --------------------------------------------------------


def test_everything_committed_reads_back_in_a_fresh_process(tmp_path: Path, db_url: str):
    written = full_knowledge(Store(tmp_path, url=db_url))
    reloaded = Store(tmp_path, url=db_url).load()
    assert reloaded == written and reloaded.revision == 1 and reloaded.next_n == 1002
    assert reloaded.entries[0].answer == "第一行\n`docker logs -f web`"
    assert [m.state for m in reloaded.events] == [EventState.APPLIED, EventState.UNDONE]


def test_removals_and_undo_marks_are_written(tmp_path: Path, db_url: str):
    store = Store(tmp_path, url=db_url)
    full_knowledge(store)
    with store.transaction() as txn:
        k = txn.knowledge.without_event("slack:r:1").without_event("slack:r:2").without_entry("learned-1001")
        txn.commit(k.marked("slack:r:1", EventState.UNDONE, "t3", 10))
    k = Store(tmp_path, url=db_url).load()
    assert k.entries == () and k.aliases == () and k.rejections == ()
    assert [(m.key, m.state) for m in k.events] == [("slack:r:0", EventState.UNDONE), ("slack:r:1", EventState.UNDONE)]


def test_gesture_keys_are_remembered_up_to_a_bound_in_the_database(tmp_path: Path, db_url: str):
    store = Store(tmp_path, url=db_url)
    for i in range(5):
        with store.transaction() as txn:
            txn.commit(txn.knowledge.marked(f"key-{i}", EventState.APPLIED, "now", keep=3))
    assert [m.key for m in Store(tmp_path, url=db_url).load().events] == ["key-2", "key-3", "key-4"]


def test_a_missing_data_dir_reads_as_empty_and_is_not_created(tmp_path: Path):
    store = Store(tmp_path / "not-yet")
    assert store.load() == Knowledge() and store.read_audit() == [] and store.questions() == []
    assert store.revision() == 0
    assert not (tmp_path / "not-yet").exists()


def test_every_change_rereads_what_other_writers_committed(tmp_path: Path, db_url: str):
    one, two = Store(tmp_path, url=db_url), Store(tmp_path, url=db_url)  # two processes' worth of stores
    add_entry(one, 1)
    add_entry(two, 2)
    add_entry(one, 3)
    k = two.load()
    assert [e.n for e in k.entries] == [1, 2, 3] and k.revision == 3 and one.revision() == 3


def test_the_audit_log_is_committed_with_the_change(tmp_path: Path, db_url: str):
    store = Store(tmp_path, url=db_url)
    add_entry(store, 1)
    with pytest.raises(RuntimeError):
        with store.transaction() as txn:
            txn.audit(audit(2))
            raise RuntimeError("the gesture failed before committing")
    records = Store(tmp_path, url=db_url).read_audit()
    assert [r["event"] for r in records] == ["qq:teach:1"]
    assert records[0]["message_ids"] == ["m1"]
    assert set(records[0]) == {"at", "who", "platform", "channel", "message_ids", "action", "event", "result", "entry_id", "detail"}


def test_a_record_missing_a_required_field_is_refused(tmp_path: Path):
    store = Store(tmp_path)
    with pytest.raises(StoreError, match="required field"):
        with store.transaction() as txn:
            txn.commit(txn.knowledge.with_entry(replace(entry(1), answer="")))
    assert store.load().entries == ()


@settings(max_examples=60, deadline=None)
@given(question=st.text(min_size=1), answer=st.text(min_size=1), alias=st.text(min_size=1), key=st.text(min_size=1))
def test_any_text_reads_back_exactly(tmp_path_factory, question: str, answer: str, alias: str, key: str):
    folder = tmp_path_factory.mktemp("any")
    k = Knowledge().with_entry(replace(entry(1001), question=question, answer=answer, event=key))
    k = k.with_alias(LearnedAlias(key, alias, "qq:1", "t", key)).marked(key, EventState.APPLIED, "t", keep=10)
    store = Store(folder)
    with store.transaction() as txn:
        txn.commit(k)
    back = Store(folder).load()

    def storable(s: str) -> str:  # the one documented change: NUL and lone surrogates become U+FFFD
        return "".join("\ufffd" if c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF else c for c in s)

    assert (back.entries[0].question, back.entries[0].answer) == (storable(question), storable(answer))
    assert back.aliases[0].text == storable(alias) and back.events[0].key == storable(key)


# -- crashes -------------------------------------------------------------------------------


def _die_before_commit(folder: Path, url: str) -> None:
    Store._commit = lambda self, conn: os._exit(17)  # every write done, COMMIT never sent
    add_entry(Store(folder, url=url), 2)
    os._exit(0)


def test_a_writer_dying_before_commit_changed_nothing(tmp_path: Path, db_url: str):
    store = Store(tmp_path, url=db_url)
    add_entry(store, 1)
    child = FORK.Process(target=_die_before_commit, args=(tmp_path, db_url))
    child.start()
    child.join(60)
    assert child.exitcode == 17
    fresh = Store(tmp_path, url=db_url)
    assert [e.n for e in fresh.load().entries] == [1] and len(fresh.read_audit()) == 1
    add_entry(store, 3)  # the lock died with the writer: the next one carries on
    assert [e.n for e in Store(tmp_path, url=db_url).load().entries] == [1, 3]


def _commit_forever(folder: Path, url: str, start: int, acked) -> None:
    store = Store(folder, url=url)
    i = start
    while True:
        add_entry(store, i)
        acked.value = i  # acknowledged: commit() returned
        i += 1


def test_killed_at_random_moments_nothing_acknowledged_is_lost_or_doubled(tmp_path: Path, db_url: str):
    rng = random.Random(7)
    store = Store(tmp_path, url=db_url)
    store.load()  # migrated before the children race
    committed = 0
    for _ in range(5):
        acked = FORK.Value("i", 0)
        child = FORK.Process(target=_commit_forever, args=(tmp_path, db_url, committed + 1, acked))
        child.start()
        deadline = time.monotonic() + 30
        while acked.value < committed + 2 and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.05))  # then kill it wherever it is: mid-statement, mid-commit, between
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        last_acked = acked.value
        k = Store(tmp_path, url=db_url).load()  # a fresh reader: no cache
        numbers = [e.n for e in k.entries]
        assert numbers == list(range(1, len(numbers) + 1)), "nothing doubled, nothing skipped"
        assert len(numbers) >= last_acked, "nothing acknowledged lost"
        assert k.revision == len(numbers) and {m.key for m in k.events} == {e.event for e in k.entries}
        audited = [r["event"] for r in Store(tmp_path, url=db_url).read_audit()]
        assert audited == [e.event for e in k.entries], "the audit record is in the same transaction"
        committed = len(numbers)
    assert committed >= 10


# -- concurrency ----------------------------------------------------------------------------


def _writer_process(folder: Path, url: str, proc: int, threads: int, per_thread: int) -> None:
    store = Store(folder, url=url)
    workers = [
        threading.Thread(target=lambda t=t: [add_entry(store, proc * 1000 + t * 100 + i) for i in range(per_thread)])
        for t in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_concurrent_writers_in_threads_and_processes_lose_nothing(tmp_path: Path, db_url: str):
    procs = [FORK.Process(target=_writer_process, args=(tmp_path, db_url, p, 3, 6)) for p in range(1, 5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    k = Store(tmp_path, url=db_url).load()
    expected = {p * 1000 + t * 100 + i for p in range(1, 5) for t in range(3) for i in range(6)}
    assert sorted(e.n for e in k.entries) == sorted(expected)
    assert k.revision == len(expected) == 72
    assert len(Store(tmp_path, url=db_url).read_audit()) == 72


def _claim_many(folder: Path, url: str, keys: list[str], out) -> None:
    store = Store(folder, url=url)
    out.put([k for k in keys if store.claim_event(k)])


def test_an_event_is_claimed_once_across_processes(tmp_path: Path, db_url: str):
    Store(tmp_path, url=db_url).load()
    keys = [f"slack:event:Ev{i:04d}" for i in range(60)]
    queue = FORK.Queue()
    procs = [FORK.Process(target=_claim_many, args=(tmp_path, db_url, keys, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    won = [k for _ in procs for k in queue.get(timeout=60)]
    for p in procs:
        p.join(30)
    assert sorted(won) == sorted(keys), "every event answered by exactly one process"
    assert Store(tmp_path, url=db_url).claim_event(keys[0]) is False


def test_old_claims_are_pruned(tmp_path: Path, db_url: str):
    store = Store(tmp_path, url=db_url)
    assert store.claim_event("old", at=T0) and store.claim_event("new", at=T0 + timedelta(hours=3))
    assert store.prune_claims(T0 + timedelta(hours=1)) == 1
    assert store.claim_event("old") and not store.claim_event("new")


# -- the question log ----------------------------------------------------------------------------


def question(i: int, decision: str = "answer", **kw) -> LoggedQuestion:
    return LoggedQuestion(
        at=T0 + timedelta(minutes=i), platform="slack", channel="C1", text=f"问题 {i}", mode="reply", decision=decision,
        top=(("docker-faq/slow-pull", 0.91), ("docker-faq/proxy", 0.42)), answered="docker-faq/slow-pull", **kw,
    )


def test_the_question_log_reads_back_newest_first_and_filters(tmp_path: Path, db_url: str):
    store = Store(tmp_path, url=db_url)
    ids = [store.log_question(question(i, "answer" if i % 2 else "unknown")) for i in range(6)]
    assert len(set(ids)) == 6
    got = Store(tmp_path, url=db_url).questions()
    assert [q.text for q in got] == [f"问题 {i}" for i in reversed(range(6))]
    first = got[-1]
    assert first == replace(question(0, "unknown"), id=ids[0]) and first.at.tzinfo is not None
    assert first.at.utcoffset() == timedelta(0)
    assert [q.text for q in store.questions(decisions=["unknown"])] == ["问题 4", "问题 2", "问题 0"]
    assert [q.text for q in store.questions(since=T0 + timedelta(minutes=4))] == ["问题 5", "问题 4"]
    assert [q.text for q in store.questions(limit=2)] == ["问题 5", "问题 4"]
    assert store.questions(decisions=[]) == []
    assert store.prune_questions(T0 + timedelta(minutes=3)) == 3
    assert [q.text for q in store.questions()] == ["问题 5", "问题 4", "问题 3"]


def test_times_in_other_zones_are_stored_as_utc(tmp_path: Path, db_url: str):
    store = Store(tmp_path, url=db_url)
    beijing = timezone(timedelta(hours=8))
    store.log_question(replace(question(0), at=datetime(2024, 5, 1, 18, 0, tzinfo=beijing)))
    (q,) = store.questions(since=T0)
    assert q.at == T0 and q.at.tzinfo == timezone.utc


# -- schema, migrations, upgrade -------------------------------------------------------------------


def test_the_migrations_make_exactly_the_declared_schema(tmp_path: Path, db_url: str):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    for module in ("bot.learning.usage_store",):  # tables other capabilities declare on the same metadata
        if importlib.util.find_spec(module):
            importlib.import_module(module)
    store = Store(tmp_path, url=db_url)
    info = describe(store.engine)
    assert info.revision == info.head == head_revision() != ""
    assert "password" not in info.url
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_two_processes_migrating_at_once_both_start(tmp_path: Path, db_url: str):
    queue = FORK.Queue()

    def start(n: int) -> None:
        try:
            queue.put(("ok", Store(tmp_path, url=db_url).revision()))
        except Exception as exc:
            queue.put(("error", repr(exc)))

    procs = [FORK.Process(target=start, args=(n,)) for n in range(3)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert results == [("ok", 0)] * 3


def write_old_data_dir(folder: Path) -> Knowledge:
    """A data directory as the file store (before the database) left it, in its own format."""
    k = Knowledge(revision=2).with_entry(entry(1001)).with_entry(entry(1002))
    k = k.with_alias(LearnedAlias("slow-pull", "镜像拉不动", "slack:U1", "t", "slack:r:1"))
    k = k.with_rejection(Rejection("容器日志在哪", "learned-1001", "slack:U1", "t", "slack:r:2"))
    k = k.marked("slack:r:1", EventState.APPLIED, "t", 100)
    (folder / LEARNED_FILE).write_text(dump_knowledge(k), encoding="utf-8")
    lines = [json.dumps({**vars(audit(i)), "message_ids": list(audit(i).message_ids)}, ensure_ascii=False) for i in (1001, 1002)]
    lines.append('{"at": "2024-05-01", "who": "qq:1", "acti')  # a line torn by a crash
    (folder / AUDIT_FILE).write_text("\n".join(lines), encoding="utf-8")
    votes = [{"platform": "slack", "user": "U1", "entry_id": "slow-pull", "query": "q", "vote": "down",
              "answer": "C1:1.1", "at": "2024-05-01T10:00:00+00:00"}]
    (folder / FEEDBACK_FILE).write_text(json.dumps({"version": 1, "votes": votes}), encoding="utf-8")
    assert parse_knowledge((folder / LEARNED_FILE).read_bytes(), folder / LEARNED_FILE) == k
    return k


def test_an_old_data_dir_is_imported_once_and_kept_as_a_backup(tmp_path: Path, db_url: str):
    old = write_old_data_dir(tmp_path)
    store = Store(tmp_path, url=db_url)
    k = store.load()
    assert (k.entries, k.aliases, k.rejections, k.events) == (old.entries, old.aliases, old.rejections, old.events)
    assert k.next_n == 1003
    assert [r["event"] for r in store.read_audit()] == ["qq:teach:1001", "qq:teach:1002"]
    assert [v["entry_id"] for v in store.votes()] == ["slow-pull"]
    for name in (LEARNED_FILE, AUDIT_FILE, FEEDBACK_FILE):
        assert not (tmp_path / name).exists()
        (backup,) = tmp_path.glob(f"{name}.imported-*")
    # a crash between the commit and the rename: the same file again is recognised, not imported twice
    backup = next(tmp_path.glob(f"{LEARNED_FILE}.imported-*"))
    os.link(backup, tmp_path / LEARNED_FILE)
    again = Store(tmp_path, url=db_url)
    assert again.load().entries == old.entries and len(again.read_audit()) == 2
    assert not (tmp_path / LEARNED_FILE).exists()
    # and teaching goes on numbering after the imported entries
    add_entry(again, 1003)
    assert [e.n for e in Store(tmp_path, url=db_url).load().entries] == [1001, 1002, 1003]


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"version: 1\nentries:\n  - id: learned-1001\n    question: \"unfinished", "not valid YAML"),
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"version: 1\nentries:\n  - id: learned-1001\n    n: 1001\n    question: q\n", "missing 'answer'"),
    ],
)
def test_a_damaged_old_file_stops_the_start_and_is_left_untouched(tmp_path: Path, content: bytes, problem: str):
    path = tmp_path / LEARNED_FILE
    path.write_bytes(content)
    store = Store(tmp_path)
    with pytest.raises(StoreError) as err:
        store.load()
    assert str(path) in str(err.value) and problem in str(err.value)
    assert path.read_bytes() == content and not list(tmp_path.glob("*.imported-*"))


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Path):
    store = Store(tmp_path)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    assert (tmp_path / "faqbot.db").exists()


def test_the_environment_names_the_database_and_its_password_is_never_shown(tmp_path: Path, monkeypatch):
    from bot.store.database import resolve_url, safe_url

    monkeypatch.setenv("FAQBOT_DATABASE_URL", "postgresql://bot:s3cret@db.example:5432/faqbot")
    url = resolve_url(tmp_path, "sqlite:///ignored.db")
    assert url == "postgresql+psycopg://bot:s3cret@db.example:5432/faqbot"
    assert "s3cret" not in safe_url(url) and "db.example" in safe_url(url)
    monkeypatch.delenv("FAQBOT_DATABASE_URL")
    assert resolve_url(tmp_path, "") == f"sqlite:///{tmp_path.resolve() / 'faqbot.db'}"


def test_an_unreachable_database_is_a_store_error_without_the_password(tmp_path: Path):
    store = Store(tmp_path, url="postgresql://bot:s3cret@127.0.0.1:1/faqbot")
    with pytest.raises(StoreError) as err:
        store.load()
    assert "s3cret" not in str(err.value) and "127.0.0.1" in str(err.value)
    health = store.health()
    assert not health.ok and "s3cret" not in health.error and health.failures == 1


def test_a_plain_sqlalchemy_engine_sees_the_tables(tmp_path: Path):
    """LEARN's tables go on the same metadata and engine: `store.engine` is a plain SQLAlchemy Engine."""
    store = Store(tmp_path)
    add_entry(store, 1)
    engine = create_engine(f"sqlite:///{tmp_path / 'faqbot.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT entry_id FROM learned_entries").scalars().all() == ["learned-1"]
    engine.dispose()


# -- faqbot db ------------------------------------------------------------------------------------


def test_db_commands_check_and_upgrade(tmp_path: Path, capsys, monkeypatch):
    from bot.cli import main

    monkeypatch.delenv("FAQBOT_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    assert main(["db", "check", "--data-dir", str(data)]) == 1 and "does not exist yet" in capsys.readouterr().out
    assert not data.exists()  # checking creates nothing
    write_old_data_dir(tmp_path)  # an old data directory next to it is imported by upgrade
    assert main(["db", "upgrade", "--data-dir", str(tmp_path)]) == 0
    assert f"migrated from (empty) to {head_revision()}" in capsys.readouterr().out
    assert main(["db", "check", "--data-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["current"] and report["revision"] == report["head"] and report["rows"]["learned_entries"] == 2
    monkeypatch.setenv("FAQBOT_DATABASE_URL", "postgresql://bot:s3cret@127.0.0.1:1/faqbot")
    assert main(["db", "check"]) == 2
    err = capsys.readouterr().err
    assert "127.0.0.1" in err and "s3cret" not in err
