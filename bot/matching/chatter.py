"""The generic out-of-scope model shipped with the engine: group-chat chatter.

Greetings, thanks, +1, emoji, "anyone here?", job posts, questions about the
bot, in Chinese and English (bot/matching/data/chatter.yaml). They are out-of-scope
topics of every index, whatever packs are loaded, so a freshly imported FAQ
with no negatives of its own stays quiet on chatter, and they are held-out
negatives of the self-supervised calibration.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from .matcher import OutOfScope

CHATTER_FILE = Path(__file__).parent / "data" / "chatter.yaml"


@lru_cache(maxsize=1)
def chatter_topics() -> tuple[OutOfScope, ...]:
    """The shipped chatter topics (generic scope: they hold back every entry)."""
    data = yaml.safe_load(CHATTER_FILE.read_text(encoding="utf-8")) or []
    return tuple(
        OutOfScope(tuple(str(p).strip() for p in item["phrasings"] if str(p).strip()))
        for item in data
        if item.get("phrasings")
    )
