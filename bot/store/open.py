"""The store a configuration names: its database URL, data directory and limits."""
from __future__ import annotations

from ..ops.config import Config
from .sql import Store


def open_store(config: Config) -> Store:
    """The process's store (opened lazily: nothing connects until first use)."""
    return Store(config.data_dir, keep_events=config.learning.remembered_events, url=config.database.url)
