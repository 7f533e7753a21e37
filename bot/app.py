"""`faqbot run`: the whole bot in one process, as deployed (and as the Docker image runs it).

This module is the command line side only (where the configuration comes from,
how a refusal to start is reported); bot.runner is the running process. It
imports nothing heavy, so adding `run` to the CLI slows no other command.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Optional

from . import logsetup
from .config import ConfigError, load_config
from .types import PackError

CONFIG_ENV = "FAQBOT_CONFIG"
DEFAULT_CONFIG_FILE = "faqbot.yaml"


def config_path(given: Optional[str]) -> Optional[str]:
    """--config, else $FAQBOT_CONFIG, else ./faqbot.yaml when there is one, else None (built-in defaults)."""
    if given:
        return given
    if os.environ.get(CONFIG_ENV):
        return os.environ[CONFIG_ENV]
    return DEFAULT_CONFIG_FILE if Path(DEFAULT_CONFIG_FILE).is_file() else None


def _fail(message: str) -> int:
    print(f"faqbot: {message}", file=sys.stderr)
    return 2


def cmd_run(args: argparse.Namespace) -> int:
    try:
        config = load_config(config_path(getattr(args, "config", None)))
        logsetup.configure(config.log)
    except ConfigError as exc:
        return _fail(str(exc))
    from .runner import Runner  # the engine and adapters: only once the configuration is good
    from .store import StoreError

    try:
        bot = Runner(config)
    except ConfigError as exc:
        return _fail(str(exc))
    except (PackError, StoreError) as exc:  # both name the file (and line) to fix
        return _fail(f"refusing to start: {exc}")
    try:
        return bot.run()
    except ConfigError as exc:  # an adapter refused its credentials when it started
        return _fail(str(exc))


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `run` to the faqbot command line (bot.cli.build_parser)."""
    parser = subparsers.add_parser(
        "run", help="run every configured adapter in one process (console when none is configured)"
    )
    parser.add_argument(
        "--config",
        help=f"configuration file (default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG_FILE} if present, else built-in defaults)",
    )
    parser.set_defaults(func=cmd_run)
    return parser
