"""The `faqbot` command line. Each sub-command parses its arguments here and
calls into the engine; platform adapters are imported only by their own
sub-command, so the engine runs without any chat SDK installed."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from . import app, learning_cli
from .config import ConfigError, load_config, with_thresholds
from .evaluate import SPELLINGS
from .pack import check_pack
from .types import Mode, PackError

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


def _load(args: argparse.Namespace):
    """Config and engine for commands that match; errors end the command with a message."""
    from .engine import Engine

    config = load_config(getattr(args, "config", None))
    config = with_thresholds(config, reply=getattr(args, "threshold", None), ambient=getattr(args, "ambient", None))
    packs = getattr(args, "pack", None) or config.packs
    return config, Engine.from_packs(packs, config.thresholds)


def _result_json(result) -> dict:
    top = result.candidates[0].entry if result.candidates else None
    return {
        "answered": result.answered,
        "decision": result.decision.value,
        "reason": result.reason.value,
        "lang": result.lang,
        "id": top.id if result.answered and top else None,
        "n": top.n if result.answered and top else None,
        "question": top.question if result.answered and top else None,
        "url": top.url if result.answered and top else None,
        "answer": result.answer_text() or None,
        "score": result.score,
        "candidates": [
            {"id": c.entry.id, "n": c.entry.n, "question": c.entry.question, "score": c.score, "url": c.entry.url}
            for c in result.candidates
        ],
    }


def _cmd_ask(args: argparse.Namespace) -> int:
    from adapters.console.render import render_result

    _, engine = _load(args)
    result = engine.ask(" ".join(args.question), Mode.AMBIENT if args.ambient_mode else Mode.REPLY)
    if args.json:
        print(json.dumps(_result_json(result), ensure_ascii=False))
    else:
        print(render_result(result, verbose=True))
    return 0 if result.answered else 1


def _cmd_chat(args: argparse.Namespace) -> int:
    from adapters.console.chat import run_console

    config, engine = _load(args)
    return run_console(engine, config, direct=args.direct)


def _cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, format_report, plot_sweep, read_rows

    _, engine = _load(args)
    try:
        rows = read_rows(args.file, args.labels)
    except (OSError, ValueError) as exc:
        print(f"faqbot: {exc}", file=sys.stderr)
        return 2
    sweep = [round(0.05 * i, 2) for i in range(4, 20)]
    report = evaluate(engine, rows, sweep=sweep, worst=args.worst, label_pack=args.label_pack or "")
    if report.in_scope and len(report.unresolved) >= sum(len(r.labels) for r in rows):
        print(
            f"faqbot: {args.file}: no label names a loaded entry ({report.unresolved[0]} …); "
            f"is the right pack loaded (--pack), and are these {report.labels}?",
            file=sys.stderr,
        )
        return 2
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(format_report(report, engine.thresholds))
    if args.plot:
        plot_sweep(report, args.plot, engine.thresholds, title=f"faqbot eval {Path(args.file).name}")
        if not args.json:
            print(f"\nsweep plot written to {args.plot}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import format_bench, run_bench

    config = load_config(getattr(args, "config", None))
    result = run_bench(
        args.pack or config.packs, config.thresholds, entries=args.entries, queries=args.queries, passes=args.passes
    )
    print(json.dumps(result, ensure_ascii=False) if args.json else format_bench(result))
    return 0


def _cmd_platform(args: argparse.Namespace) -> int:
    """`faqbot slack` / `faqbot qq`: one adapter in the foreground."""
    import logging

    from .serve import build_context, load_service, run_services

    config = load_config(getattr(args, "config", None))
    logging.basicConfig(level=config.log.level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    ctx = build_context(config)
    return run_services(ctx, [load_service(args.platform, ctx)])


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="configuration file (default: $FAQBOT_CONFIG or built-in defaults)")
    p.add_argument("--pack", action="append", help="knowledge pack folder (repeatable; default: from config)")
    p.add_argument("--threshold", type=float, help="reply threshold (overrides the config)")
    p.add_argument("--ambient", type=float, help="ambient threshold (overrides the config)")


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import fit_calibration, save_calibration
    from .pack import load_pack

    folder = args.dir or str(DEFAULT_PACK)
    pack = load_pack(folder)
    calibration, stats = fit_calibration(pack.entries, pack.negatives, folds=args.folds)
    path = save_calibration(folder, calibration, stats)
    print(f"calibrated on {stats['samples']} held-out phrasings ({stats['right']} matched rightly); written to {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faqbot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer one question and exit (exit 1 when the bot would not answer)")
    ask.add_argument("question", nargs="+")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--ambient-mode", action="store_true", help="decide as for an overheard message")
    _add_engine_options(ask)
    ask.set_defaults(func=_cmd_ask)

    chat = sub.add_parser("chat", help="the console adapter: talk to the bot as in a group chat")
    chat.add_argument("--direct", action="store_true", help="treat every line as addressed to the bot")
    _add_engine_options(chat)
    chat.set_defaults(func=_cmd_chat)

    ev = sub.add_parser("eval", help="accuracy on a labelled TSV (query, expected, lang, note)")
    ev.add_argument("file")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--worst", type=int, default=10, help="how many misses to list")
    ev.add_argument("--plot", metavar="PNG", help="save the precision/coverage sweep as a PNG (needs matplotlib)")
    ev.add_argument(
        "--labels", choices=("auto",) + SPELLINGS, default="auto",
        help="how the expected column names entries: numbers (7,97), ids (slow-pull or pack/slow-pull), "
        "titles (question titles joined by ' || '); auto detects it from the whole file",
    )
    ev.add_argument(
        "--label-pack", metavar="NAME",
        help="pack (folder name) that bare numbers and ids refer to when several are loaded (default: the first pack)",
    )
    _add_engine_options(ev)
    ev.set_defaults(func=_cmd_eval)

    bench = sub.add_parser("bench", help="cold start, match latency, throughput and memory")
    bench.add_argument("--entries", type=int, default=10_000, help="size of the synthetic pack")
    bench.add_argument("--queries", type=int, default=2000, help="queries timed per pass")
    bench.add_argument("--passes", type=int, default=5, help="timed passes over the queries (the median pass is reported)")
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--config")
    bench.add_argument("--pack", action="append")
    bench.set_defaults(func=_cmd_bench)

    for platform, text in (("slack", "run the Slack adapter (Socket Mode or HTTP)"), ("qq", "run the QQ adapter (OneBot v11)")):
        p = sub.add_parser(platform, help=text)
        p.add_argument("--config", help="configuration file (default: $FAQBOT_CONFIG or built-in defaults)")
        p.set_defaults(func=_cmd_platform, platform=platform)

    app.register(sub)

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
    learning_cli.register(ksub)
    cal = ksub.add_parser("calibrate", help="fit the confidence calibrator on the pack's own aliases and negatives")
    cal.add_argument("dir", nargs="?", help=f"pack folder (default: {DEFAULT_PACK.name})")
    cal.add_argument("--folds", type=int, default=5)
    cal.set_defaults(func=_cmd_calibrate)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Optional[Callable[[argparse.Namespace], int]] = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except ConfigError as exc:
        print(f"faqbot: {exc}", file=sys.stderr)
        return 2
    except PackError as exc:
        print(f"faqbot: refusing to start: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
