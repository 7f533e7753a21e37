"""A hand-held clock for what reads its own (`clock=` arguments): tests move `now`."""
from __future__ import annotations


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
