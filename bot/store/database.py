"""Connecting to the database and bringing its schema up to date.

SQLite (a file in data_dir) needs no setup and serves one machine; PostgreSQL
(psycopg 3) serves several bot processes. Which one comes from, in order:
the environment variable FAQBOT_DATABASE_URL (it may hold a password, so it
need not live in a config file), `database.url` in the config, else
`sqlite:///<data_dir>/faqbot.db`. URLs are only ever shown with the password
masked.

SQLite runs in WAL mode (readers never block the writer), with
`synchronous=FULL` (a commit is on disk before it returns: acknowledged means
durable) and a busy timeout; the WAL is checkpointed every 10 000 pages
(40 MB) rather than SQLite's 1 000, so the checkpoint's extra fsyncs land on one
write in thousands, not one in a hundred; a write transaction starts with
`BEGIN IMMEDIATE`, which takes SQLite's one write lock up front, so two
processes serialise instead of failing on a lock upgrade.

Migrations are Alembic revisions shipped inside the package
(`bot/store/migrations/`), run on every start (a no-op when current) and by
`faqbot db upgrade`. Concurrent starts take a lock first (a PostgreSQL advisory
lock; SQLite's write lock), so two processes never migrate at once.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from .files import StoreError

log = logging.getLogger("faqbot.store")
logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines say nothing an operator needs; ours does

ENV_URL = "FAQBOT_DATABASE_URL"
SQLITE_FILE = "faqbot.db"
BUSY_TIMEOUT_MS = 30_000
WRITE = "faqbot_write"  # execution option: this connection's transactions write (SQLite: BEGIN IMMEDIATE)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_ID = 0x6661_7162  # "faqb": the PostgreSQL advisory lock taken while migrating


def resolve_url(data_dir: str | os.PathLike, configured: str = "") -> str:
    """The database URL: $FAQBOT_DATABASE_URL, else `database.url`, else SQLite in data_dir."""
    url = os.environ.get(ENV_URL, "").strip() or (configured or "").strip()
    if not url:
        return f"sqlite:///{Path(data_dir).resolve() / SQLITE_FILE}"
    if url.startswith(("postgres://", "postgresql://")):  # psycopg 3, not SQLAlchemy's default psycopg2
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def safe_url(url: str) -> str:
    """The URL with its password masked, for logs and health output."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable database URL)"


@dataclass(frozen=True)
class DatabaseInfo:
    url: str  # password masked
    dialect: str  # sqlite | postgresql
    revision: str  # the Alembic revision the database is at ("" before the first upgrade)
    head: str  # the newest revision this code ships


def _sqlite_engine(url: str) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{Path(path).parent}: cannot create the data directory: {exc.strerror or exc}") from exc
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver's guesswork
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", f"busy_timeout={BUSY_TIMEOUT_MS}", "foreign_keys=ON", "wal_autocheckpoint=10000"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

    return engine


def connect(url: str) -> Engine:
    """A SQLAlchemy engine for the URL; StoreError (password masked) when it cannot be made."""
    try:
        dialect = make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise StoreError(f"database URL {safe_url(url)!r} is not a valid URL") from exc
    if dialect == "sqlite":
        return _sqlite_engine(url)
    try:
        # pre-ping: a connection the server dropped (a restart) is replaced before use, not handed out
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_timeout=10,
                             connect_args={"connect_timeout": 5})
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"database URL {safe_url(url)}: {exc}") from exc


def _alembic_config(conn: Optional[Connection] = None):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() or ""


def upgrade(engine: Engine, target: str = "head") -> tuple[str, str]:
    """Run the migrations up to `target`; returns (revision before, revision after)."""
    from alembic import command

    with engine.connect().execution_options(**{WRITE: True}) as conn:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            before = _revision_of(conn)
            command.upgrade(_alembic_config(conn), target)
            after = _revision_of(conn)
    if before != after:
        log.info("database %s migrated from %s to %s", safe_url(str(engine.url)), before or "(empty)", after)
    return before, after


def _revision_of(conn: Connection) -> str:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision() or ""


def describe(engine: Engine) -> DatabaseInfo:
    return DatabaseInfo(safe_url(str(engine.url)), engine.dialect.name, current_revision(engine), head_revision())
