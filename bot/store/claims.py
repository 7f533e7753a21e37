"""One process answers each platform event, however many receive it.

Two replicas behind one Slack app (a retry reaching the other one, several
Socket Mode connections) or two processes on one OneBot account both see the
same event. Before answering, each claims the event's key in the shared
database with a unique insert (`Store.claim_event`): the first wins and
answers, the others drop it and count `faqbot_events_claimed_elsewhere_total`.

Claims are on by default where processes share a database (PostgreSQL) and
off for SQLite, where a claim would cost an fsync per message for a database
that one process uses (`database.claim_events: always | never | auto`). When
the database cannot be reached the event is answered anyway and
`faqbot_event_claim_errors_total` counts it: a duplicate answer during an
outage beats a bot gone silent.
"""
from __future__ import annotations

import logging
from typing import Optional

from ..ops.runtime import Metrics
from .files import StoreError
from .sql import Store

log = logging.getLogger("faqbot.claims")


class EventClaims:
    def __init__(self, store: Optional[Store], metrics: Metrics, enabled: bool):
        self.store = store
        self.metrics = metrics
        self.enabled = enabled and store is not None

    @classmethod
    def for_context(cls, ctx: object) -> "EventClaims":
        store = getattr(getattr(ctx, "learner", None), "store", None)
        config = getattr(ctx, "config")
        mode = config.database.claim_events
        enabled = mode == "always" or (mode == "auto" and isinstance(store, Store) and not store.is_sqlite)
        return cls(store if isinstance(store, Store) else None, getattr(ctx, "metrics"), enabled)

    def claim(self, platform: str, key: str) -> bool:
        """True when this process is to handle the event (it won the claim, or claims are off or failing)."""
        if not self.enabled:
            return True
        try:
            won = self.store.claim_event(f"{platform}:{key}")
        except StoreError as exc:
            log.warning("cannot claim %s event %s (%s); answering it anyway", platform, key, exc)
            self.metrics.inc("event_claim_errors", platform=platform)
            return True
        if not won:
            self.metrics.inc("events_claimed_elsewhere", platform=platform)
        return won
