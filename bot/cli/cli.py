"""The `faqbot` command line. Each sub-command parses its arguments here and
calls into the engine; platform adapters are imported only by their own
sub-command, so the engine runs without any chat SDK installed.

Every command that answers (run, slack, qq, chat, ask, eval) reads the same
configuration the same way (bot.ops.config.find_config) and builds the same
knowledge, learned pairs included (bot.ops.serve.build_context): the preview
commands are the bot.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..knowledge.pack import check_pack
from ..learning import learn_cli, learning_cli
from ..matching.types import Mode, PackError
from ..ops import app
from ..ops.app import CONFIG_HELP, pack_refusal
from ..ops.config import ConfigError, check_data_dir, load_config, with_thresholds
from ..store import db_cli
from .labels import SPELLINGS

DEFAULT_PACK = Path(__file__).resolve().parents[2] / "knowledge" / "docker-faq"
DESCRIPTION = (
    "A FAQ bot for group chats (Slack, QQ via OneBot v11, console) that answers from knowledge packs "
    "and stays quiet when it is not sure."
)
EPILOG = (
    "Start with `faqbot chat` (the console, Docker pack, no accounts) or `faqbot ask QUESTION`; "
    "`faqbot COMMAND --help` describes each command. Configuration: --config FILE, else $FAQBOT_CONFIG, "
    "else ./faqbot.yaml, else built-in defaults (faqbot.example.yaml documents every key)."
)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default unless it has none worth showing or its help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, "", argparse.SUPPRESS) or not action.option_strings:
            return text
        return super()._get_help_string(action)


def _version() -> str:
    try:
        return metadata.version("faqbot")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _cmd_import(args: argparse.Namespace) -> int:
    from ..knowledge.import_cli import run_import

    return run_import(args)


def _cmd_validate(args: argparse.Namespace) -> int:
    from ..knowledge.import_cli import is_markdown, print_pack_warnings, validate_markdown

    failed = 0
    for folder in args.dirs or load_config(args.config).packs:
        if is_markdown(folder):  # a dry run of `knowledge import` on a document
            failed += validate_markdown(folder)
            continue
        pack, problems = check_pack(folder)
        if pack is None:
            failed += 1
            print(f"{folder}: INVALID ({len(problems)} problem(s))")
            for problem in problems:
                print(f"  {problem}")
        else:
            print(f"{folder}: ok, {len(pack.entries)} entries")
            print_pack_warnings(pack)  # suspicious shapes: printed, never a failure
    return 1 if failed else 0


def _config(args: argparse.Namespace):
    """The configuration as `faqbot run` reads it, with this command's --pack and threshold overrides."""
    config = load_config(getattr(args, "config", None))
    config = with_thresholds(config, reply=getattr(args, "threshold", None), ambient=getattr(args, "ambient", None))
    packs = getattr(args, "pack", None)
    return replace(config, packs=tuple(str(Path(p).resolve()) for p in packs)) if packs else config


class Refused(Exception):
    """A command cannot start; the message says why (printed as one line, exit 2)."""


def _load(args: argparse.Namespace):
    """Config and engine for commands that match: the packs and learned knowledge `faqbot run` would serve."""
    from ..ops.serve import build_context
    from ..store import StoreError

    config = _config(args)
    try:
        return config, build_context(config).engine
    except StoreError as exc:  # names the file or the database (password masked)
        raise Refused(f"refusing to start: {exc}") from exc


def _result_json(result) -> dict:
    top = result.candidates[0].entry if result.candidates else None
    return {
        "answered": result.answered,
        "decision": result.decision.value,
        "reason": result.reason.value,
        "lang": result.lang,
        "id": top.id if result.answered and top else None,
        "pack": (top.pack or None) if result.answered and top else None,  # None: learned in chat
        "n": top.n if result.answered and top else None,
        "question": top.question if result.answered and top else None,
        "url": top.url if result.answered and top else None,
        "answer": result.answer_text() or None,
        "score": result.score,
        "candidates": [
            {"id": c.entry.id, "pack": c.entry.pack or None, "n": c.entry.n, "question": c.entry.question,
             "score": c.score, "url": c.entry.url}
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
    from .evaluate import evaluate, format_report, plot_sweep
    from .labels import read_rows, resolve

    _, engine = _load(args)
    try:
        rows = read_rows(args.file, args.labels)
    except (OSError, ValueError) as exc:
        print(f"faqbot: {exc}", file=sys.stderr)
        return 2
    sweep = [round(0.05 * i, 2) for i in range(4, 20)]
    resolved = resolve(rows, engine.entries, engine.packs, args.label_pack or "")
    if resolved.missing and len(resolved.missing) == sum(len(r.labels) for r in rows):
        line, label = resolved.missing[0]
        print(
            f"faqbot: {args.file}:{line}: {label!r} names no loaded entry, and neither does any other label: "
            f"is the right pack loaded (--pack), and are the labels {resolved.spelling} (--labels)?",
            file=sys.stderr,
        )
        return 2
    report = evaluate(engine, rows, sweep=sweep, worst=args.worst, label_pack=args.label_pack or "")
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

    config = _config(args)
    result = run_bench(config.packs, config.thresholds, entries=args.synthetic, queries=args.queries, passes=args.passes)
    print(json.dumps(result, ensure_ascii=False) if args.json else format_bench(result))
    return 0


def _cmd_platform(args: argparse.Namespace) -> int:
    """`faqbot slack` / `faqbot qq`: one adapter in the foreground."""
    import logging

    from ..ops.serve import build_context, load_service, run_services
    from ..store import StoreError

    config = load_config(getattr(args, "config", None))
    logging.basicConfig(level=config.log.level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    check_data_dir(config)  # unwritable: refused now, not at the first teach
    try:
        ctx = build_context(config)
    except StoreError as exc:  # a damaged learned.yaml: one line naming the file, as `faqbot run` says it
        print(f"faqbot: refusing to start: {exc}", file=sys.stderr)
        return 2
    return run_services(ctx, [load_service(args.platform, ctx)])


def _add_engine_options(p: argparse.ArgumentParser, thresholds: bool = True) -> None:
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument(
        "--pack", action="append", metavar="DIR",
        help="knowledge pack folder, instead of the configured packs (repeatable; default: `packs` from the configuration)",
    )
    if thresholds:
        p.add_argument("--threshold", type=float, metavar="P", help="reply threshold, 0-1 (default: from the configuration, 0.65 built in)")
        p.add_argument("--ambient", type=float, metavar="P", help="ambient threshold, 0-1 (default: from the configuration, 0.75 built in)")


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from ..matching.calibration import calibrate_pack

    folder = args.dir or load_config(args.config).packs[0]
    try:
        _, stats, path = calibrate_pack(folder, folds=args.folds)
    except PackError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot write the calibration of {folder}: {exc}", file=sys.stderr)
        return 1
    made = "pseudo-questions from the pack's text and held-out phrasings" if stats.get("pseudo_questions") else "held-out aliases and negatives"
    print(f"calibrated on {stats['samples']} {made} ({stats['right']} matched rightly); written to {path}")
    if stats.get("note"):
        print(f"note: {stats['note']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faqbot", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}", help="print the version and exit")
    parser.add_argument("--config", dest="global_config", metavar="FILE", help=CONFIG_HELP + "; also accepted after the command")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer one question and exit (exit 1 when the bot would not answer)")
    ask.add_argument("question", nargs="+", help="the message, as it would be typed in the group")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--ambient-mode", action="store_true", help="decide as for an overheard message")
    _add_engine_options(ask)
    ask.set_defaults(func=_cmd_ask)

    chat = sub.add_parser("chat", help="the console adapter: talk to the bot as in a group chat")
    chat.add_argument("--direct", action="store_true", help="treat every line as addressed to the bot")
    _add_engine_options(chat)
    chat.set_defaults(func=_cmd_chat)

    ev = sub.add_parser("eval", help="accuracy on a labelled TSV (query, expected, lang, note)")
    ev.add_argument("file", help="labelled TSV (format: ../shared/eval/README.md; a sample: benchmarks/eval-sample.tsv)")
    ev.add_argument("--json", action="store_true", help="print one JSON object with every figure")
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

    bench = sub.add_parser(
        "bench", help="cold start, match latency, throughput and memory on the configured packs (the Docker pack by default)"
    )
    bench.add_argument("--queries", type=int, default=2000, help="queries timed per pass")
    bench.add_argument("--passes", type=int, default=5, help="timed passes over the queries (the median pass is reported)")
    bench.add_argument(
        "--synthetic", type=int, default=0, metavar="N",
        help="also benchmark a synthetic pack of N made-up entries (10000 takes about a minute and 1.3 GB; default: none)",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    _add_engine_options(bench)
    bench.set_defaults(func=_cmd_bench)

    for platform, text in (("slack", "run the Slack adapter (Socket Mode or HTTP)"), ("qq", "run the QQ adapter (OneBot v11)")):
        p = sub.add_parser(platform, help=text)
        p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
        p.set_defaults(func=_cmd_platform, platform=platform)

    app.register(sub)
    db_cli.register(sub)  # db upgrade, db check

    knowledge = sub.add_parser("knowledge", help="import, validate and review knowledge packs")
    ksub = knowledge.add_subparsers(dest="knowledge_command", metavar="ACTION")
    imp = ksub.add_parser("import", help="turn markdown FAQs (one page or several) into one pack")
    imp.add_argument("file", nargs="+", help="markdown files, in order (a FAQ split across pages)")
    imp.add_argument("--into", help="pack folder (default: knowledge/<file stem, or its folder for README.md>)")
    imp.add_argument(
        "--base-url", default="",
        help="page URL that entry anchors are appended to; with several files, a URL ending in '/' is joined with each file name",
    )
    imp.add_argument("--index", help="TSV with anchor and n/question columns: anchors and verbatim titles")
    imp.set_defaults(func=_cmd_import)
    val = ksub.add_parser("validate", help="check packs; exit 1 when any is broken")
    val.add_argument("dirs", nargs="*", help=f"pack folders, or markdown files for a dry-run import (default: {DEFAULT_PACK.name})")
    val.add_argument("--config", metavar="FILE", help=CONFIG_HELP + "; its packs are checked when no folder is given")
    val.set_defaults(func=_cmd_validate)
    learning_cli.register(ksub)
    learn_cli.register(ksub)  # gaps, suggestions, stale
    cal = ksub.add_parser("calibrate", help="fit the confidence calibrator on the pack's own aliases and negatives")
    cal.add_argument("dir", nargs="?", help="pack folder (default: the first configured pack)")
    cal.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    cal.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    cal.set_defaults(func=_cmd_calibrate)
    _format_all(parser)
    return parser


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.values()


def _format_all(parser: argparse.ArgumentParser) -> None:
    """Every command's --help shows defaults, including the commands other modules register."""
    parser.formatter_class = HelpFormatter
    for child in _subparsers(parser):
        _format_all(child)


def _quiet_broken_pipe() -> int:
    """The reader went away (`faqbot knowledge learned | head`): stop quietly, as Unix tools do.
    stdout is pointed at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture)
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a writer ended by its pipe


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _main(argv: Optional[Sequence[str]]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Optional[Callable[[argparse.Namespace], int]] = getattr(args, "func", None)
    if func is None:
        # `faqbot` or `faqbot knowledge` alone: the help of what was typed
        named = {p.prog.split()[-1]: p for p in _subparsers(parser)}
        (named.get(getattr(args, "command", None) or "") or parser).print_help()
        return 2
    if getattr(args, "global_config", None) and not getattr(args, "config", None):
        args.config = args.global_config  # `faqbot --config F chat` is `faqbot chat --config F`
    try:
        code = func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return code
    except ConfigError as exc:
        print(f"faqbot: {exc}", file=sys.stderr)
        return 2
    except PackError as exc:
        print(f"faqbot: {pack_refusal(exc)}", file=sys.stderr)
        return 2
    except Refused as exc:
        print(f"faqbot: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
