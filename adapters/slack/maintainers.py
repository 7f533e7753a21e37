"""Who is making a gesture: the Actor the learner judges, with the Slack user
group resolved.

Membership of `maintainers.slack_usergroup` comes from `usergroups.users.list`,
kept for a few minutes: a burst of reactions costs one call, and somebody
removed from the group loses the right within that time. When Slack cannot
answer, the last list read stays in use (and a failure is not retried for a
little while), so an outage neither locks maintainers out at once nor turns
every reaction into another failing call.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

from slack_sdk import WebClient

from bot.learning import Actor
from bot.ops import Maintainers

from .poster import call

log = logging.getLogger("faqbot.slack")

GROUP_MEMORY_S = 300.0
RETRY_AFTER_FAILURE_S = 30.0


class MaintainerDirectory:
    def __init__(
        self, client: WebClient, maintainers: Maintainers,
        ttl_s: float = GROUP_MEMORY_S, clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.maintainers = maintainers
        self.ttl_s = ttl_s
        self._clock = clock
        self._members: Optional[frozenset[str]] = None
        self._until = 0.0  # when the list must be read again
        self._lock = threading.Lock()

    def actor(self, user: str) -> Actor:
        group = self.maintainers.slack_usergroup
        # a listed maintainer needs no group lookup: no Slack call on the common path
        if not group or user in self.maintainers.slack:
            return Actor("slack", user)
        return Actor("slack", user, groups=(group,) if user in self._group_members(group) else ())

    def _group_members(self, group: str) -> frozenset[str]:
        with self._lock:  # one lookup for a burst of reactions, not one per worker
            now = self._clock()
            if self._members is not None and now < self._until:
                return self._members
            got = call("usergroups.users.list", lambda: self.client.usergroups_users_list(usergroup=group))
            users = got.data.get("users") if got.ok else None
            if isinstance(users, list):
                self._members = frozenset(u for u in users if isinstance(u, str))
                self._until = now + self.ttl_s
            else:
                log.warning("slack: cannot read user group %s (%s); keeping the last list read", group, got.error or "no users")
                self._until = now + min(RETRY_AFTER_FAILURE_S, self.ttl_s)
            return self._members or frozenset()
