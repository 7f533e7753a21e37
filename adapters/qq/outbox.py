"""Sending replies: spaced out per group, in order, failures logged and counted.

Every reply to a group waits for that group's next send slot (`SendGap`), so
the account never posts in bursts that QQ's risk control would flag. When
`backlog` replies already wait for a group's slots, further ones are dropped
until it drains: under a flood, stale answers minutes late help nobody.

A teaching acknowledgement is first a gesture (an emoji on the message, or
withdrawing the bot's wrong answer) and only if that fails a short text. The
gesture goes out at once: it posts nothing to the group, and waiting a slot
for it would hold up the next answer there by a whole gap. The text, when
needed, takes a slot like any reply. An account whose implementation has no
set_msg_emoji_like (retcode 1404) is not asked again.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable, Optional

from bot.chat import SendGap
from bot.ops import Metrics

from .connection import ApiResult, Links
from .events import as_number, qq_id
from .outgoing import Attempt, Move, Outgoing
from .segments import reply_message

log = logging.getLogger("faqbot.qq")

RETCODE_UNSUPPORTED = 1404  # OneBot v11: no such action


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
        self._no_reactions: set[str] = set()  # accounts whose implementation cannot react

    def submit(self, out: Outgoing) -> bool:
        """Queue `out` for its group; False when the group's queue is full."""
        if out.attempt is not None:
            self._spawn(self._gesture(out, out.attempt))
            return True
        delay = self._slot(out)
        if delay is None:
            return False
        self._spawn(self._send(out, delay))
        return True

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _slot(self, out: Outgoing) -> Optional[float]:
        """Seconds until the group's next send slot, now booked; None when too many wait already."""
        now = self.clock()
        if self._gap.interval and self._gap.backlog(out.group_id, now) > self._max_wait:
            log.warning("group %s: too many replies queued, dropping one", out.group_id)
            self.metrics.inc("replies_dropped", platform="qq")
            return None
        return self._gap.reserve(out.group_id, now)

    async def _gesture(self, out: Outgoing, attempt: Attempt) -> None:
        done = await self._attempt(out.self_id, attempt)
        if done and not attempt.also_say:
            return
        delay = self._slot(out) if out.body else None
        if delay is not None:
            await self._send(out, delay)  # in this task: stop() waits for it as for any reply

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

    async def _attempt(self, self_id: str, attempt: Attempt) -> bool:
        message_id = as_number(attempt.message_id)
        result: Optional[ApiResult] = None
        if attempt.move is Move.WITHDRAW:
            result = await self.links.call(self_id, "delete_msg", {"message_id": message_id})
        elif self_id not in self._no_reactions:
            params = {"message_id": message_id, "emoji_id": attempt.emoji, "set": attempt.move is Move.REACT}
            result = await self.links.call(self_id, "set_msg_emoji_like", params)
            if result.retcode == RETCODE_UNSUPPORTED:
                log.info("account %s cannot react to messages: acknowledging in text from now on", self_id or "?")
                self._no_reactions.add(self_id)
        if result is not None and not result.ok:
            log.info("%s of message %s failed: retcode %s %s", attempt.move.value, attempt.message_id, result.retcode, result.message)
        return result is not None and result.ok
