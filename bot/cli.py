"""The `faqbot` command line. Each sub-command parses its arguments here and
calls into the engine; platform adapters are imported only by their own
sub-command, so the engine runs without any chat SDK installed."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from .pack import check_pack

DEFAULT_PACK = Path(__file__).resolve().parent.parent / "knowledge" / "docker-faq"


def _cmd_import(args: argparse.Namespace) -> int:
    from .importer import import_markdown

    into = Path(args.into) if args.into else Path("knowledge") / Path(args.file).stem
    try:
        report = import_markdown(Path(args.file), into, base_url=args.base_url, index=args.index and Path(args.index))
    except (OSError, ValueError) as exc:
        print(f"faqbot: {exc}", file=sys.stderr)
        return 2
    print(
        f"imported {report.written} entries into {into} "
        f"({report.new} new, {report.kept_hand_written} kept hand-written fields)"
    )
    for orphan in report.orphans:
        print(f"warning: {orphan} is no longer in the source; kept, remove it by hand if it is obsolete")
    pack, problems = check_pack(into)
    for problem in problems:
        print(f"warning: {problem}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for folder in args.dirs or [str(DEFAULT_PACK)]:
        pack, problems = check_pack(folder)
        if pack is None:
            failed += 1
            print(f"{folder}: INVALID ({len(problems)} problem(s))")
            for problem in problems:
                print(f"  {problem}")
        else:
            print(f"{folder}: ok, {len(pack.entries)} entries")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faqbot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    knowledge = sub.add_parser("knowledge", help="import, validate and review knowledge packs")
    ksub = knowledge.add_subparsers(dest="knowledge_command", metavar="ACTION")
    imp = ksub.add_parser("import", help="turn a heading-structured markdown FAQ into a pack")
    imp.add_argument("file")
    imp.add_argument("--into", help="pack folder (default: knowledge/<file stem>)")
    imp.add_argument("--base-url", default="", help="page URL that entry anchors are appended to")
    imp.add_argument("--index", help="TSV with anchor and n/question columns: anchors and verbatim titles")
    imp.set_defaults(func=_cmd_import)
    val = ksub.add_parser("validate", help="check packs; exit 1 when any is broken")
    val.add_argument("dirs", nargs="*", help=f"pack folders (default: {DEFAULT_PACK.name})")
    val.set_defaults(func=_cmd_validate)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Optional[Callable[[argparse.Namespace], int]] = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
