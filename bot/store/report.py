"""The database's state for /healthz and /metrics (bot.ops.health calls these two functions).

The state is the one last seen by the process's own traffic (each process
polls the revision every `database.poll_interval_s`), so a health probe never
waits on a database that is away. A database that is away does not make the
bot unhealthy: answers keep coming from memory, only teaching fails (with a
message in the chat) until it is back.
"""
from __future__ import annotations

from typing import Optional

from .sql import Store


def store_of(ctx: object) -> Optional[Store]:
    store = getattr(getattr(ctx, "learner", None), "store", None)
    return store if isinstance(store, Store) else None


def database_health(ctx: object) -> Optional[dict]:
    store = store_of(ctx)
    if store is None:
        return None
    h = store.health()
    body = {"ok": h.ok, "dialect": h.dialect, "url": h.url, "failures": h.failures}
    if h.error:
        body["error"] = h.error
    return body


def database_metrics(ctx: object) -> list[str]:
    store = store_of(ctx)
    if store is None:
        return []
    h = store.health()
    lines = [
        "# TYPE faqbot_database_up gauge", f"faqbot_database_up {1 if h.ok else 0}",
        "# TYPE faqbot_database_failures_total counter", f"faqbot_database_failures_total {h.failures}",
    ]
    log = getattr(ctx, "question_log", None)
    if log is not None:
        lines += ["# TYPE faqbot_question_log_pending gauge", f"faqbot_question_log_pending {log.pending}"]
    return lines
