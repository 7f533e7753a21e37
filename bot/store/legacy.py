"""Upgrading loses nothing: the files of the pre-database store, imported once.

A data directory written by an earlier faqbot holds learned.yaml (learned
entries, aliases, rejections, gesture keys), audit.log (JSON lines) and
feedback.json (votes). On the first start with the database they are read
with the old readers (a damaged learned.yaml stops the start, naming the file,
exactly as before), merged into the database in one transaction under the
write lock, and only after that commit renamed to `<name>.imported-<UTC time>`
as a backup. The file's digest is recorded in the `imports` table, so a crash
between the commit and the rename, or a second process starting at the same
moment, never imports the same file twice; a file dropped in later with new
content is imported then.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from . import schema as t
from .database import WRITE
from .files import AUDIT_FILE, LEARNED_FILE, AuditRecord, StoreError, parse_knowledge, read_audit_file

if TYPE_CHECKING:
    from .sql import Store

log = logging.getLogger("faqbot.store")

FEEDBACK_FILE = "feedback.json"
LEGACY_FILES = (LEARNED_FILE, AUDIT_FILE, FEEDBACK_FILE)


UNREADABLE = -2  # an importer's answer for a file it could not read and did not need (set aside, not imported)


def backup_name(path: Path, at: datetime, unreadable: bool = False) -> Path:
    """`<name>.imported-<UTC time>` (or `.unreadable-`), never one that exists already."""
    base = f"{path.name}.{'unreadable' if unreadable else 'imported'}-{at:%Y%m%dT%H%M%SZ}"
    target, n = path.with_name(base), 1
    while target.exists():
        target, n = path.with_name(f"{base}.{n}"), n + 1
    return target


def import_data_dir(store: "Store", engine: Engine) -> dict[str, int]:
    """Import whichever old files exist in store.dir; returns rows imported per file."""
    present = [store.dir / name for name in LEGACY_FILES if (store.dir / name).is_file()]
    if not present:
        return {}
    now = datetime.now(timezone.utc)
    done: dict[str, int] = {}
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        conn.execute(select(t.state.c.revision).where(t.state.c.id == 1).with_for_update()).one()
        for path in present:
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # another process imported and renamed it a moment ago
                continue
            digest = hashlib.sha256(raw).hexdigest()
            known = conn.execute(select(t.imports.c.digest).where(t.imports.c.name == path.name)).scalar_one_or_none()
            if known == digest:
                done[path.name] = -1  # imported before; only the rename was missing
                continue
            rows = _IMPORTERS[path.name](conn, path, raw)
            conn.execute(delete(t.imports).where(t.imports.c.name == path.name))
            conn.execute(insert(t.imports).values(name=path.name, digest=digest, at=now.isoformat(timespec="seconds"), rows=rows))
            done[path.name] = rows
    for path in present:
        if path.name in done:
            target = backup_name(path, now, unreadable=done[path.name] == UNREADABLE)
            try:
                path.rename(target)
            except FileNotFoundError:
                continue
            if done[path.name] >= 0 or done[path.name] == UNREADABLE:
                log.info("imported %d record(s) from %s into the database; the file is kept as %s", done[path.name], path, target.name)
    return done


def _import_learned(conn: Connection, path: Path, raw: bytes) -> int:
    from .sql import _alias_row, _entry_row, _rejection_row

    k = parse_knowledge(raw, path)  # StoreError naming the file: the start stops, the file stays
    have = set(conn.execute(select(t.learned_entries.c.entry_id)).scalars())
    entries = [_entry_row(e) for e in k.entries if e.id not in have]
    if entries:
        conn.execute(insert(t.learned_entries), entries)
    if k.aliases:
        conn.execute(insert(t.learned_aliases), [_alias_row(a) for a in k.aliases])
    if k.rejections:
        conn.execute(insert(t.rejections), [_rejection_row(r) for r in k.rejections])
    keys = [m.key for m in k.events]
    for i in range(0, len(keys), 500):
        conn.execute(delete(t.gesture_events).where(t.gesture_events.c.key.in_(keys[i:i + 500])))
    if k.events:
        conn.execute(insert(t.gesture_events), [dict(key=m.key, state=m.state.value, at=m.at) for m in k.events])
    state = conn.execute(select(t.state).where(t.state.c.id == 1)).one()
    conn.execute(update(t.state).where(t.state.c.id == 1).values(
        revision=max(state.revision, k.revision) + 1, next_n=max(state.next_n, k.next_n),
    ))
    return len(entries) + len(k.aliases) + len(k.rejections)


def _import_audit(conn: Connection, path: Path, raw: bytes) -> int:
    from .sql import _audit_row

    names = [f.name for f in fields(AuditRecord)]
    rows = []
    for line in read_audit_file(path):  # a line torn by a crash is skipped, as before
        if not isinstance(line, dict):
            continue
        values = {n: line.get(n, "") for n in names}
        ids = values["message_ids"]
        values = {n: ("" if v is None else str(v)) for n, v in values.items() if n != "message_ids"}
        rows.append(_audit_row(AuditRecord(**values, message_ids=tuple(str(i) for i in (ids if isinstance(ids, list) else [])))))
    if rows:
        conn.execute(insert(t.audit_log), rows)
    return len(rows)


def _import_feedback(conn: Connection, path: Path, raw: bytes) -> int:
    names = ("platform", "user", "entry_id", "query", "vote", "answer", "at")
    try:
        votes = json.loads(raw.decode("utf-8"))["votes"]
        rows = [{n: str(v[n]) for n in names} for v in votes]
    except (ValueError, KeyError, TypeError) as exc:
        # as before the database: an unreadable feedback file is set aside, never a reason not to start
        log.error("%s is unreadable (%s); not imported, moved aside", path, exc)
        return UNREADABLE
    latest = {(r["platform"], r["answer"], r["user"]): r for r in rows}  # one vote per user per answer
    c = t.feedback_votes.c
    for r in latest.values():
        conn.execute(delete(t.feedback_votes).where(c.platform == r["platform"], c.answer == r["answer"], c.user == r["user"]))
    if latest:
        conn.execute(insert(t.feedback_votes), list(latest.values()))
    return len(latest)


_IMPORTERS = {LEARNED_FILE: _import_learned, AUDIT_FILE: _import_audit, FEEDBACK_FILE: _import_feedback}

__all__ = ["LEGACY_FILES", "FEEDBACK_FILE", "import_data_dir", "backup_name", "StoreError"]
