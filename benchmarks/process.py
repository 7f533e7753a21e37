"""The bot as its own process, for benchmarks that measure it the way it is deployed."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def faqbot_process(*args: str, env: dict[str, str], stop_timeout: float = 15.0) -> Iterator[subprocess.Popen]:
    """`faqbot ARGS…` running until the block ends, then stopped with SIGTERM (killed if it hangs)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
