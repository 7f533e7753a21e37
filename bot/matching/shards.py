"""Each loaded pack's own index, beside the one over all packs (two packs or more loaded).

Why: a candidate's confidence is a map of evidence read within one pack: the pack's
own calibration, and the second opinion's map, fitted on each development FAQ
alone. In one index over two packs that evidence moves although the message has
nothing to do with the other pack: the classifier's posterior spreads over both
packs' entries, word weights and rarities change with the other pack's text, and
so do the second opinion's scores. A front-end FAQ's right answers fell from 0.80
to 0.57 beside the Docker pack (antd-zh imported raw, its dev rows: coverage 0.483
alone, 0.433 beside). So each pack's candidates are rated in the pack's own index,
as when it is loaded alone, while the index over all packs says which pack a
message is for (there both packs' entries compete: a question both packs answer
keeps the entry it ranks first). Pairs taught in chat are in every pack's index.

The engine (engine.py) builds and swaps these with its index; this module holds the
pure parts: which packs get one, what each holds, and how the candidates merge.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from .types import Candidate, Entry, Pack


def sharded_packs(packs: Sequence[Pack], name_of) -> tuple[Pack, ...]:
    """The packs that get an index of their own: all of them when two or more with distinct
    names are loaded (entries are told apart by Entry.pack, the pack's name); else none."""
    names = [name_of(p) for p in packs]
    if len(packs) < 2 or len(set(names)) < len(names):
        return ()
    return tuple(packs)


def shard_entries(name: str, entries: Sequence[Entry]) -> list[Entry]:
    """Pack `name`'s own index's entries among `entries` (those of the index over all packs,
    with their taught phrasings): the pack's, and the pairs taught in chat, which every
    pack's index has (a taught pair competes with each pack's entries as beside one pack)."""
    return [e for e in entries if e.pack == name or e.learned]


def merge(
    lead: Candidate | None, own: Mapping[str, Sequence[Candidate]], unsharded: Sequence[Candidate], limit: int
) -> list[Candidate]:
    """One ranked list from each pack's own candidates (a taught pair, in every pack's
    index, at its best confidence) and those of entries in no pack's index.

    `lead` is the first candidate of the index over all packs: the first candidate of its
    pack's own index goes first (the pack's order, as when loaded alone); for a lead in no
    pack (a taught pair), its best candidate. The rest follow by confidence.
    (engine.surest_first still moves a much surer one first.)"""
    best: dict[str, Candidate] = {}
    for c in sorted([c for found in own.values() for c in found] + list(unsharded), key=lambda c: -c.score):
        best.setdefault(c.entry.key, c)
    ranked = list(best.values())
    if lead is not None:
        first = own[lead.entry.pack][0] if own.get(lead.entry.pack) else best.get(lead.entry.key, lead)
        ranked = [first] + [c for c in ranked if c.entry.key != first.entry.key]
    return ranked[:limit]
