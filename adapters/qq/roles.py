"""Group roles (owner, admin, member) of people who react, for `maintainers.qq_group_admins`.

A message carries its sender's role; a reaction notice carries none. The role
is asked for with get_group_member_info and kept for `ttl` seconds, so a burst
of reactions costs one call per person; a demoted admin keeps teaching rights
for at most that long. When the call fails (an implementation without it, a
timeout), the role seen on that person's latest message in the group stands in.
"""
from __future__ import annotations

import time
from typing import Awaitable, Callable, Optional

from bot.chat import Expiring

# self_id, group_id, user_id -> the role, or None when the implementation could not tell
RoleLookup = Callable[[str, str, str], Awaitable[Optional[str]]]

LOOKUP_TTL_S = 60.0
SEEN_TTL_S = 24 * 3600.0
CAPACITY = 5_000


class MemberRoles:
    def __init__(self, lookup: Optional[RoleLookup], ttl: float = LOOKUP_TTL_S, clock: Callable[[], float] = time.monotonic):
        self.lookup = lookup
        self.clock = clock
        self._looked_up: Expiring[tuple[str, str], str] = Expiring(CAPACITY, ttl)
        self._seen: Expiring[tuple[str, str], str] = Expiring(CAPACITY, SEEN_TTL_S)

    def saw(self, group_id: str, user_id: str, role: str) -> None:
        """A message from this person arrived with this role."""
        if role:
            self._seen.put((group_id, user_id), role, self.clock())

    async def role(self, self_id: str, group_id: str, user_id: str) -> str:
        key = (group_id, user_id)
        known = self._looked_up.get(key, self.clock())
        if known is None:
            found = await self.lookup(self_id, group_id, user_id) if self.lookup is not None else None
            known = found or ""  # a failed lookup is kept too: an implementation without the call is not asked again
            self._looked_up.put(key, known, self.clock())
        return known or self._seen.get(key, self.clock()) or ""
