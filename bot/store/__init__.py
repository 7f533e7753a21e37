"""The store: what the bot learns and records, in a SQL database (SQLite by default, PostgreSQL to share).

- `sql.Store` (also exported as `LearnedStore`): the one store object per process;
- `schema`: the tables (SQLAlchemy metadata), `migrations/`: their Alembic revisions;
- `database`: URL resolution, engines, migrations; `legacy`: the one-time import of old files;
- `files`: the learned-knowledge values (`Knowledge`, ...) and the pre-database file format;
- `export`: learned knowledge as a pack for review; `questions`: the question log's record;
- `claims`: which process handles a platform event; `db_cli`: `faqbot db check/upgrade`.
"""

from ..exports import lazy_exports
from .database import ENV_URL, DatabaseInfo, describe, resolve_url, safe_url, upgrade
from .export import EXPORT_MARKER, ExportReport, export_pack
from .files import AUDIT_FILE, DEFAULT_KEEP_EVENTS, LEARNED_FILE, LEARNED_SECTION, AuditRecord, EventMark
from .files import EventState, Knowledge, LearnedAlias, LearnedEntry, LearnedRecord, Rejection
from .files import Source, StoreError, dump_knowledge, parse_knowledge, to_yaml
from .questions import DECISIONS, LoggedQuestion
from .sql import Store, StoreHealth, Transaction

LearnedStore = Store

__all__ = [
    "ENV_URL", "DatabaseInfo", "describe", "resolve_url", "safe_url", "upgrade",
    "AUDIT_FILE", "DEFAULT_KEEP_EVENTS", "EXPORT_MARKER", "LEARNED_FILE", "LEARNED_SECTION", "AuditRecord", "EventMark",
    "EventState", "ExportReport", "Knowledge", "LearnedAlias", "LearnedEntry", "LearnedRecord", "Rejection",
    "Source", "StoreError", "dump_knowledge", "export_pack", "parse_knowledge", "to_yaml", "DECISIONS", "LoggedQuestion", "Store", "StoreHealth",
    "Transaction", "LearnedStore", "EventClaims",
]
# lazily: claims reports to the runtime's metrics, which would import the engine here
_, __getattr__ = lazy_exports(__name__, "claims: EventClaims")
