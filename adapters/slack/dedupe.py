"""Slack redelivers an event when it has no ack within 3 seconds (HTTP mode,
header `x-slack-retry-num`) or when a Socket Mode connection drops before the
ack. Each delivery carries the same `event_id`; the second one is acked and
dropped here, before any listener sees it, so a slow reply is never posted twice.
With several bot processes on one database, the event id is also claimed there
(bot.store.claims): a retry that reaches another replica is dropped by it too.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

from slack_bolt.response import BoltResponse

from bot.chat import BoundedMap
from bot.ops import Metrics
from bot.store import EventClaims

from .listeners import RECEIVED

log = logging.getLogger("faqbot.slack")

# Slack gives up retrying after about an hour; an hour of event ids is a few
# thousand entries for a busy workspace.
EVENT_MEMORY_S = 3600.0
MAX_EVENTS = 10_000


def new_memory() -> BoundedMap:
    return BoundedMap(MAX_EVENTS, EVENT_MEMORY_S)


def retry_filter(seen: BoundedMap, metrics: Metrics, claims: Optional[EventClaims] = None) -> Callable[..., Any]:
    """A Bolt global middleware: ack-and-drop events already seen; stamp the arrival time."""

    def drop_redeliveries(body: Any, request: Any, next: Callable[[], Any]) -> Any:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if isinstance(event_id, str) and event_id and (
            not seen.claim(("event", event_id), True) or (claims is not None and not claims.claim("slack", event_id))
        ):
            retry = (request.headers.get("x-slack-retry-num") or ["?"])[0]
            reason = (request.headers.get("x-slack-retry-reason") or [""])[0]
            log.info("dropped redelivery of %s (retry %s %s)", event_id, retry, reason)
            metrics.inc("slack_redeliveries_dropped")
            return BoltResponse(status=200, body="")
        # a slash command has no event_id; its trigger_id is as unique, and a signed
        # request replayed within Slack's 5-minute window carries the same one
        trigger_id = body.get("trigger_id") if isinstance(body, dict) and "command" in body else None
        if isinstance(trigger_id, str) and trigger_id and not seen.claim(("trigger", trigger_id), True):
            log.info("dropped a repeated request (trigger %s)", trigger_id[:40])
            metrics.inc("slack_redeliveries_dropped")
            return BoltResponse(status=200, body="")
        request.context[RECEIVED] = time.perf_counter()
        return next()

    return drop_redeliveries
