"""Sending replies: spaced out per group, in order, failures logged and counted.

Every reply to a group waits for that group's next send slot (`SendGap`), so
the account never posts in bursts that QQ's risk control would flag. When
`backlog` replies already wait for a group's slots, further ones are dropped
until it drains: under a flood, stale answers minutes late help nobody.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from bot.runtime import Metrics

from .connection import Links
from .events import as_number, qq_id
from .handler import Outgoing
from .segments import reply_message
from .throttle import SendGap

log = logging.getLogger("faqbot.qq")


class Outbox:
    def __init__(
        self,
        links: Links,
        metrics: Metrics,
        on_sent: Callable[[Outgoing, str], None],
        interval: float,
        backlog: int,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.links = links
        self.metrics = metrics
        self.on_sent = on_sent
        self.clock = clock
        self._gap = SendGap(interval)
        self._max_wait = self._gap.interval * max(backlog, 1)
        self.tasks: set[asyncio.Task] = set()

    def submit(self, out: Outgoing) -> bool:
        """Queue `out` for its group; False when the group's queue is full."""
        now = self.clock()
        if self._gap.interval and self._gap.backlog(out.group_id, now) > self._max_wait:
            log.warning("group %s: too many replies queued, dropping one", out.group_id)
            self.metrics.inc("replies_dropped", platform="qq")
            return False
        delay = self._gap.reserve(out.group_id, now)
        task = asyncio.get_running_loop().create_task(self._send(out, delay))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    async def _send(self, out: Outgoing, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        params = {"group_id": as_number(out.group_id), "message": reply_message(out.record.question_id, out.body)}
        result = await self.links.call(out.self_id, "send_group_msg", params)
        if result.ok:
            data = result.data if isinstance(result.data, dict) else {}
            self.on_sent(out, qq_id(data.get("message_id")))
            return
        log.warning("send_group_msg to group %s failed: retcode %s %s", out.group_id, result.retcode, result.message)
        self.metrics.inc("send_failures", platform="qq")
