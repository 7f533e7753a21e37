"""`faqbot knowledge learned` and `faqbot knowledge export`: review what was taught in chat.

Both read the data directory only (no pack, no engine), so they work while
the bot runs and while a pack is being edited.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..knowledge.pack import check_pack
from ..ops.app import CONFIG_HELP
from ..ops.config import load_config
from ..store import Knowledge, LearnedStore, StoreError, export_pack

DEFAULT_EXPORT_DIR = "learned-pack"


def learned_json(k: Knowledge) -> dict:
    return {
        "revision": k.revision,
        "entries": [
            {"id": e.id, "n": e.n, "question": e.question, "answer": e.answer, "created_by": e.created_by,
             "created_at": e.created_at, "permalink": e.source.permalink, "platform": e.source.platform,
             "channel": e.source.channel, "message_ids": list(e.source.message_ids)}
            for e in k.entries
        ],
        "aliases": [{"entry_id": a.entry_id, "text": a.text, "who": a.who, "when": a.when} for a in k.aliases],
        "rejections": [{"query": r.query, "entry_id": r.entry_id, "who": r.who, "when": r.when} for r in k.rejections],
    }


def format_learned(k: Knowledge) -> str:
    if not (k.entries or k.aliases or k.rejections):
        return "nothing learned yet"
    lines = [f"{len(k.entries)} learned entries, {len(k.aliases)} aliases, {len(k.rejections)} rejections"]
    if k.entries:
        lines.append("\nentries:")
        for e in k.entries:
            answer = e.answer.replace("\n", " ")
            lines.append(f"  #{e.n} {e.id}  {e.question}\n      -> {answer[:100]}{'…' if len(answer) > 100 else ''}")
            lines.append(f"      {e.created_by} {e.created_at} {e.source.permalink or e.source.channel}")
    if k.aliases:
        lines.append("\naliases:")
        lines += [f"  {a.entry_id}: {a.text}  ({a.who} {a.when})" for a in k.aliases]
    if k.rejections:
        lines.append("\nrejections (this question must not get that entry):")
        lines += [f"  {r.entry_id}: {r.query}  ({r.who} {r.when})" for r in k.rejections]
    return "\n".join(lines)


def _store(args: argparse.Namespace) -> LearnedStore:
    config = load_config(args.config)  # database.url (or $FAQBOT_DATABASE_URL) names the database to read
    return LearnedStore(args.data_dir or config.data_dir, url=config.database.url)


def _refuse(exc: Exception) -> int:
    print(f"faqbot: {exc}", file=sys.stderr)
    return 2


def _cmd_learned(args: argparse.Namespace) -> int:
    try:
        knowledge = _store(args).load()
    except StoreError as exc:
        return _refuse(exc)
    print(json.dumps(learned_json(knowledge), ensure_ascii=False, indent=2) if args.json else format_learned(knowledge))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    try:
        report = export_pack(_store(args).load(), Path(args.into))
    except (StoreError, OSError) as exc:
        return _refuse(exc)
    print(
        f"wrote {report.entries} learned entries to {report.folder}; "
        f"{report.pack_aliases} aliases for pack entries and {report.rejections} rejections in {report.folder}/extra/"
    )
    if report.entries:
        _, problems = check_pack(report.folder)
        for problem in problems:
            print(f"warning: {problem}")
        return 1 if problems else 0
    return 0


def register(knowledge_subparsers: argparse._SubParsersAction) -> None:
    """Add `learned` and `export` to `faqbot knowledge`."""
    for name, func, text in (
        ("learned", _cmd_learned, "list entries, aliases and rejections learned in chat"),
        ("export", _cmd_export, "write learned entries out as a pack for review and merging in git"),
    ):
        p = knowledge_subparsers.add_parser(name, help=text)
        p.add_argument("--data-dir", help="the bot's data directory (default: data_dir from the config)")
        p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
        p.set_defaults(func=func)
        if name == "learned":
            p.add_argument("--json", action="store_true", help="print one JSON object")
        else:
            p.add_argument("--into", default=DEFAULT_EXPORT_DIR, help=f"pack folder to write (default: {DEFAULT_EXPORT_DIR})")
