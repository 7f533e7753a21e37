"""`faqbot db upgrade` and `faqbot db check`: the database for operators.

The bot migrates its database on every start, so `upgrade` is for doing it
ahead of a rolling deploy (or to see what it would do); `check` says which
database the configuration names (password masked), whether it answers, which
revision it is at against the newest this code ships, and how much it holds.
Exit codes: 0 fine, 1 reachable but behind (check) , 2 unreachable or broken.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ..ops.app import CONFIG_HELP
from ..ops.config import ConfigError, load_config
from .database import connect, current_revision, describe, head_revision, resolve_url, safe_url, upgrade
from .files import StoreError
from .sql import Store


def _store(args: argparse.Namespace) -> Store:
    config = load_config(args.config)
    return Store(args.data_dir or config.data_dir, keep_events=config.learning.remembered_events, url=config.database.url)


def _counts(store: Store) -> dict[str, int]:
    from . import schema as t

    tables = {"learned_entries": t.learned_entries, "learned_aliases": t.learned_aliases, "rejections": t.rejections,
              "feedback_votes": t.feedback_votes, "audit_log": t.audit_log, "question_log": t.question_log,
              "handled_events": t.handled_events}
    with store.engine.connect() as conn:
        return {name: int(conn.execute(select(func.count()).select_from(table)).scalar_one()) for name, table in tables.items()}


def _cmd_check(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        url = resolve_url(args.data_dir or config.data_dir, config.database.url)
        sqlite_file = make_url(url).database if url.startswith("sqlite") else None
        if sqlite_file and not Path(sqlite_file).exists():  # checking must not create it
            print(f"database {safe_url(url)}: does not exist yet (the bot or `faqbot db upgrade` creates it)")
            return 1
        engine = connect(url)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
        head = head_revision()
        report = {"url": safe_url(url), "reachable": True, "revision": revision or None, "head": head, "current": revision == head}
        if revision == head:
            store = _store(args)
            report["revision_of_learned_knowledge"] = store.revision()
            report["rows"] = _counts(store)
            store.close()
    except (ConfigError, StoreError) as exc:
        print(f"faqbot: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a database that does not answer: say which, without its password
        print(f"faqbot: database {safe_url(url) if 'url' in locals() else '?'} unreachable: "
              f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        state = "up to date" if report["current"] else "behind (run `faqbot db upgrade` or start the bot)"
        print(f"database {report['url']}: revision {revision or '(empty)'}, newest {head}: {state}")
        for name, count in report.get("rows", {}).items():
            print(f"  {name}: {count}")
    return 0 if report["current"] else 1


def _cmd_upgrade(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        url = resolve_url(args.data_dir or config.data_dir, config.database.url)
        engine = connect(url)
        try:
            before, after = upgrade(engine)
            info = describe(engine)
        finally:
            engine.dispose()
        store = _store(args)  # imports an old data directory's files, once
        store.load()
        store.close()
    except (ConfigError, StoreError) as exc:
        print(f"faqbot: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"faqbot: cannot upgrade {safe_url(url) if 'url' in locals() else 'the database'}: "
              f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 2
    change = f"migrated from {before or '(empty)'} to {after}" if before != after else f"already at {after}"
    print(f"database {info.url}: {change}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `db upgrade` and `db check` to `faqbot`."""
    db = subparsers.add_parser("db", help="the database: migrate it, check it")
    dsub = db.add_subparsers(dest="db_command", metavar="ACTION")
    for name, func_, text in (
        ("upgrade", _cmd_upgrade, "bring the database to the newest schema (the bot also does this on start)"),
        ("check", _cmd_check, "which database, reachable or not, its schema revision and row counts"),
    ):
        p = dsub.add_parser(name, help=text)
        p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
        p.add_argument("--data-dir", help="the bot's data directory (SQLite lives there; default: data_dir from the config)")
        p.set_defaults(func=func_)
        if name == "check":
            p.add_argument("--json", action="store_true", help="print one JSON object")
