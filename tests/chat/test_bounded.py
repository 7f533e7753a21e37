"""The adapters' bounded memories: `BoundedMap` (thread-safe, its own clock) and
`Expiring` (pure, the time passed in)."""
from __future__ import annotations

import threading

import pytest

from bot.chat.bounded import BoundedMap, Expiring
from tests.support.clock import Clock


def test_bounded_map_forgets_the_oldest_when_full():
    memory: BoundedMap[str, int] = BoundedMap(3)
    for i, key in enumerate("abcd"):
        memory.put(key, i)
    assert "a" not in memory and len(memory) == 3
    assert memory.get("d") == 3


def test_bounded_map_forgets_after_the_ttl():
    clock = Clock()
    memory: BoundedMap[str, bool] = BoundedMap(10, ttl_s=60, clock=clock)
    assert memory.claim("ev1", True)
    assert not memory.claim("ev1", True)
    clock.now += 59
    assert "ev1" in memory
    clock.now += 2
    assert "ev1" not in memory
    assert memory.claim("ev1", True)


def test_bounded_map_claim_is_won_once_under_contention():
    memory: BoundedMap[str, int] = BoundedMap(100)
    wins: list[int] = []
    start = threading.Barrier(16)

    def racer(i: int) -> None:
        start.wait()
        if memory.claim("key", i):
            wins.append(i)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and memory.get("key") == wins[0]


def test_bounded_map_needs_room():
    with pytest.raises(ValueError):
        BoundedMap(0)


def test_expiring_map_is_bounded_and_forgets():
    memory: Expiring[str, int] = Expiring(capacity=2, ttl=10.0)
    memory.put("a", 1, 0.0)
    memory.put("b", 2, 0.0)
    memory.put("c", 3, 0.0)
    assert len(memory) == 2 and memory.get("a", 0.0) is None and memory.get("c", 0.0) == 3
    assert memory.get("b", 10.5) is None
