"""`faqbot knowledge import` and the importer's part of `knowledge validate`:
argument handling and printing only; the work is in bot/knowledge/importer.py and
bot/knowledge/markdown_faq.py."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..matching.types import Pack
from .importer import default_pack_folder, import_markdown, parse_files
from .markdown_faq import pack_warnings
from .pack import check_pack

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")


def run_import(args: argparse.Namespace) -> int:
    files = [Path(f) for f in (args.file if isinstance(args.file, list) else [args.file])]
    into = Path(args.into) if args.into else default_pack_folder(files[0])
    try:
        report = import_markdown(files, into, base_url=args.base_url, index=args.index and Path(args.index))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(f"faqbot: {exc}", file=sys.stderr)
        return 2
    print(
        f"imported {report.written} entries from {len(files)} file(s) into {into} "
        f"({report.new} new, {report.kept_hand_written} with hand-written fields kept)"
    )
    for note in report.notes:
        print(f"note: {note}")
    for warning in report.warnings:
        print(f"warning: {warning}")
    for orphan in report.orphans:
        print(f"warning: {orphan} is no longer in the source; kept, remove it by hand if it is obsolete")
    pack, problems = check_pack(into)
    for problem in problems:
        print(f"warning: {problem}")
    if pack is not None:
        # calibrate now, from the pack's own text, so the first start needs no fit
        from ..matching.calibration import calibrate_pack

        _, stats, path = calibrate_pack(into)
        print(f"calibrated on {stats['samples']} questions made from the pack's own text; written to {path}")
    return 0


def is_markdown(path: str) -> bool:
    return Path(path).suffix.lower() in MARKDOWN_SUFFIXES and Path(path).is_file()


def validate_markdown(path: str) -> int:
    """A dry run of the import: how many entries a document gives, and why it looks odd."""
    try:
        (doc,) = parse_files([Path(path)])
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}")
        return 1
    rows = f", {doc.table_rows} from table rows" if doc.table_rows else ""
    print(f"{path}: would import {len(doc.entries)} entries{rows} ({doc.question_headings} question-shaped headings)")
    for warning in doc.warnings:
        print(f"  warning: {warning}")
    return 0 if doc.entries else 1


def print_pack_warnings(pack: Pack) -> None:
    for warning in pack_warnings([(e.id, e.question, e.body) for e in pack.entries if not e.learned]):
        print(f"  warning: {warning}")
