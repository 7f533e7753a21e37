"""`faqbot knowledge gaps | suggestions | stale`: what the bot misses, what people suggest, what to re-check.

They read the configured store (the question log, usage signals, votes) and
the configured packs with learned knowledge on top, as the running bot does;
they change nothing, so they are safe while it runs.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timedelta, timezone

from ..matching.types import PackError
from ..ops.app import CONFIG_HELP
from ..ops.config import ConfigError, load_config
from ..store import StoreError

GAP_DECISIONS = ["unknown", "suggest", "quiet"]


def _context(args: argparse.Namespace):
    from ..ops.serve import build_context

    config = load_config(args.config)
    return config, build_context(config)


def _cmd_gaps(args: argparse.Namespace) -> int:
    from .gaps import DEFAULT_DISTANCE, MAX_TEXTS, as_json, gap_clusters
    from .usage_store import UsageStore

    config, ctx = _context(args)
    store = ctx.learner.store
    since = datetime.now(timezone.utc) - timedelta(days=args.days)
    questions = store.questions(since=since, decisions=GAP_DECISIONS, limit=MAX_TEXTS * 5)
    dismissed = UsageStore(store.engine).dismissed()
    clusters = gap_clusters(questions, ctx.engine.weights, dismissed, distance=args.distance or DEFAULT_DISTANCE)[: args.top]
    if args.json:
        print(json.dumps({"days": args.days, "gaps": [as_json(c) for c in clusters]}, ensure_ascii=False, indent=2))
        return 0
    if not clusters:
        print(f"no gaps in the last {args.days} days: every question logged was answered (or dismissed)")
        return 0
    for i, c in enumerate(clusters, 1):
        print(f"{i:>2}. {c.title}  [{c.people} people, asked {c.asked}x, {', '.join(c.channels[:3])}]  {c.id}")
        for text, n in c.examples[1:4]:
            print(f"      - {text}" + (f"  (x{n})" if n > 1 else ""))
        if c.nearest:
            print("      nearest: " + ", ".join(f"{k} {s:.0%}" for k, s in c.nearest))
    return 0


def _cmd_suggestions(args: argparse.Namespace) -> int:
    from .suggestions import SuggestionBook
    from .usage_store import UsageStore

    config, ctx = _context(args)
    book = SuggestionBook(UsageStore(ctx.learner.store.engine), None, config.learning.auto_apply_people, engine=ctx.engine)
    found = book.suggestions()
    if args.json:
        print(json.dumps({"suggestions": [
            {"key": s.key, "kind": s.kind, "question": s.question, "entry": s.entry_id, "people": list(s.people),
             "channels": list(s.channels), "signals": list(s.signals), "against": list(s.against), "state": s.state.value,
             "decided_by": s.decided_by} for s in found]}, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("no suggestions yet (they come from did-you-mean picks, votes and shares)")
    for s in found:
        arrow = "->" if s.kind == "alias" else "-/->"
        print(f"[{s.state.value:>9}] {s.question} {arrow} {s.entry_id}  ({len(s.people)} people: {', '.join(s.people[:5])}"
              + (f"; {len(s.against)} against" if s.against else "") + ")")
    return 0


def _cmd_stale(args: argparse.Namespace) -> int:
    from .staleness import as_json, stale_entries
    from ..web.data import vote_totals

    config, ctx = _context(args)
    s = config.staleness
    found = stale_entries(ctx.engine.entries, vote_totals(ctx.learner.store.engine), date.today(),
                          args.max_age_days or s.max_age_days, s.down_ratio, s.min_votes)
    if args.json:
        print(json.dumps({"stale": [as_json(x) for x in found]}, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("nothing to review")
    for x in found:
        when = f"reviewed {x.reviewed} ({x.age_days} days ago)" if x.reviewed else "never reviewed"
        votes = f", {x.ups} up / {x.downs} down" if x.ups or x.downs else ""
        print(f"#{x.n:<4} {x.question[:60]}  [{when}{votes}: {', '.join(x.reasons)}]")
    return 0


def _guarded(func):
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (ConfigError, StoreError, PackError) as exc:
            print(f"faqbot: {exc}", file=sys.stderr)
            return 2
    return run


def register(knowledge_subparsers: argparse._SubParsersAction) -> None:
    """Add `gaps`, `suggestions` and `stale` to `faqbot knowledge`."""
    gaps = knowledge_subparsers.add_parser("gaps", help="questions the bot could not answer, clustered by need, most askers first")
    gaps.add_argument("--days", type=int, default=30, help="look this far back in the question log")
    gaps.add_argument("--top", type=int, default=20, help="show this many clusters")
    gaps.add_argument("--distance", type=float, default=0.0, help="cosine distance that still joins two questions (default 0.6)")
    sugg = knowledge_subparsers.add_parser("suggestions", help="aliases and negatives suggested by picks, votes and shares")
    stale = knowledge_subparsers.add_parser("stale", help="entries to review: old `reviewed:` dates or many down-votes")
    stale.add_argument("--max-age-days", type=int, default=0, help="override staleness.max_age_days")
    for p, func in ((gaps, _cmd_gaps), (sugg, _cmd_suggestions), (stale, _cmd_stale)):
        p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(func=_guarded(func))
