"""`faqbot run`: the whole bot in one process, as deployed (and as the Docker image runs it).

This module is the command line side only (where the configuration comes from,
how a refusal to start is reported); bot.ops.runner is the running process. It
imports nothing heavy, so adding `run` to the CLI slows no other command.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from . import logsetup
from ..matching.types import PackError
from .config import CONFIG_ENV, DEFAULT_CONFIG_FILE, ConfigError, load_config
from .config import find_config as config_path  # every command finds its configuration the same way

CONFIG_HELP = f"configuration file (default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG_FILE} if present, else built-in defaults)"
PACK_NOT_FOUND = "knowledge pack folder not found"


def pack_refusal(exc: PackError) -> str:
    """One line for a pack folder that is not there; every problem, with file and line, otherwise."""
    missing = [p.file for p in exc.problems if p.message == PACK_NOT_FOUND]
    if missing and len(missing) == len(exc.problems):
        return f"{PACK_NOT_FOUND}: {', '.join(missing)} (set `packs` in the configuration, or give --pack)"
    return f"refusing to start: {exc}"


def _fail(message: str) -> int:
    print(f"faqbot: {message}", file=sys.stderr)
    return 2


def cmd_run(args: argparse.Namespace) -> int:
    try:
        config = load_config(getattr(args, "config", None))
        logsetup.configure(config.log)
    except ConfigError as exc:
        return _fail(str(exc))
    from .runner import Runner  # the engine and adapters: only once the configuration is good
    from ..store import StoreError

    try:
        bot = Runner(config)
    except ConfigError as exc:
        return _fail(str(exc))
    except PackError as exc:  # names the file (and line) to fix
        return _fail(pack_refusal(exc))
    except StoreError as exc:
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
    parser.add_argument("--config", help=CONFIG_HELP)
    parser.set_defaults(func=cmd_run)
    return parser
