"""Bounded memories for adapters: maps with a size bound and a time-to-live.

An adapter remembers a few things per event, thread or answer (retries seen,
threads already answered, which message answered what). Platforms deliver events
forever, so each memory must forget: the oldest entries go first once the map
is full, and entries older than the TTL count as absent.

Two kinds, kept apart because they behave differently: `BoundedMap` is
thread-safe and reads its own clock (the Slack adapter's listeners run on worker
threads), expiring at age >= TTL; `Expiring` is pure, with the time passed in by
the caller (the QQ adapter's single event loop), expiring at age > TTL.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Generic, Hashable, Optional, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMap(Generic[K, V]):
    def __init__(self, max_items: int, ttl_s: Optional[float] = None, clock: Callable[[], float] = time.monotonic):
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        if self.ttl_s is None:
            return
        # insertion order is expiry order, because every write moves its key to the end
        while self._items:
            key, (stamp, _) = next(iter(self._items.items()))
            if now - stamp < self.ttl_s:
                break
            del self._items[key]

    def _store(self, key: K, value: V, now: float) -> None:
        self._items[key] = (now, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            now = self._clock()
            self._expire(now)
            self._store(key, value, now)

    def claim(self, key: K, value: V) -> bool:
        """Store `value` unless the key is present; True when this call stored it.

        Atomic, so two threads racing on one key see exactly one True.
        """
        with self._lock:
            now = self._clock()
            self._expire(now)
            if key in self._items:
                return False
            self._store(key, value, now)
            return True

    def get(self, key: K) -> Optional[V]:
        with self._lock:
            self._expire(self._clock())
            item = self._items.get(key)
            return item[1] if item else None

    def __contains__(self, key: object) -> bool:
        with self._lock:
            self._expire(self._clock())
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._items)


class Expiring(Generic[K, V]):
    def __init__(self, capacity: int, ttl: float = float("inf")):
        self.capacity = max(1, capacity)
        self.ttl = ttl
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def put(self, key: K, value: V, now: float) -> None:
        self._items.pop(key, None)
        self._items[key] = (now, value)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def get(self, key: K, now: float) -> Optional[V]:
        item = self._items.get(key)
        if item is None:
            return None
        if now - item[0] > self.ttl:
            del self._items[key]
            return None
        return item[1]

    def __len__(self) -> int:
        return len(self._items)
