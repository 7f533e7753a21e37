"""Shared fixtures: a small hand-written pack on the real file system
(tests/support/packs.py), an engine over it, and QQ services stopped at a test's end."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.matching.engine import Engine
from bot.matching.types import Thresholds
from tests.support.packs import write_pack


@pytest.fixture
def sample_pack_dir(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "sample-pack")


@pytest.fixture
def sample_engine(sample_pack_dir: Path) -> Engine:
    return Engine.from_packs([str(sample_pack_dir)], Thresholds(reply=0.45, ambient=0.7, suggest=0.2))


@pytest.fixture
def qq_services():
    """Start QQ services for a test (`launch(ctx, token)`); every one is stopped at its end."""
    from adapters.qq.service import QQService

    started: list[QQService] = []

    def launch(ctx, token: str) -> QQService:
        service = QQService(ctx, token)
        service.start()
        started.append(service)
        return service

    yield launch
    for service in started:
        service.stop(5)
