"""Learned knowledge as a pack, for review and merging in git (`faqbot knowledge export`).

Apart from the store's values (files.py) because it writes a pack, which is the
knowledge packages' format: entries as pack files, the rest as notes to merge by hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .files import LEARNED_SECTION, Knowledge, LearnedAlias, LearnedEntry, StoreError, to_yaml

EXPORT_MARKER = ".faqbot-export"
EXTRA_DIR = "extra"  # check_pack reads only the top folder, so review notes here never break loading


@dataclass(frozen=True)
class ExportReport:
    folder: str
    entries: int
    pack_aliases: int  # aliases learned for pack entries (extra/aliases.yaml, to merge by hand)
    rejections: int


def _entry_data(e: LearnedEntry, aliases: tuple[LearnedAlias, ...]) -> dict:
    return {
        "id": e.id, "n": e.n, "question": e.question, "section": LEARNED_SECTION, "url": e.source.permalink,
        "answer": e.answer, "aliases": [a.text for a in aliases],
    }


def _provenance(e: LearnedEntry) -> str:
    s = e.source
    ids = ", ".join(s.message_ids) or "-"
    return f"# learned {e.created_at} by {e.created_by} on {s.platform or '-'} in {s.channel or '-'} (messages {ids})\n"


def export_pack(k: Knowledge, folder: Path, name: str = "learned") -> ExportReport:
    """Write learned entries as a pack (bot.knowledge.pack.check_pack accepts it) for review and merging in git.

    Aliases learned for pack entries and rejections cannot live in a pack of
    their own; they go to extra/ as YAML to merge by hand. An earlier export
    in the same folder is replaced; any other non-empty folder is refused.
    """
    from ..knowledge.importer import dump_entry
    from ..knowledge.pack import META_FILE, entry_files

    if folder.exists() and any(folder.iterdir()) and not (folder / EXPORT_MARKER).exists():
        raise StoreError(f"{folder}: not empty and not an earlier export; choose an empty or new folder")
    (folder / EXTRA_DIR).mkdir(parents=True, exist_ok=True)
    for old in entry_files(folder):
        old.unlink()
    meta = {"name": name, "title": "Learned in chat", "description": "Entries maintainers taught the bot; review before merging."}
    (folder / META_FILE).write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for e in k.entries:
        (folder / f"{e.n:04d}.yaml").write_text(_provenance(e) + dump_entry(_entry_data(e, k.aliases_of(e.id))), encoding="utf-8")
    learned_ids = {e.id for e in k.entries}
    pack_aliases: dict[str, list[str]] = {}
    for a in k.aliases:
        if a.entry_id not in learned_ids:
            pack_aliases.setdefault(a.entry_id, []).append(a.text)
    notes = {
        "aliases.yaml": ("# Phrasings learned for pack entries: add them to `aliases:` of these entries.\n", pack_aliases),
        "rejections.yaml": (
            "# Questions maintainers marked as wrongly answered by an entry (normalised text).\n",
            [{"query": r.query, "entry_id": r.entry_id, "who": r.who, "when": r.when} for r in k.rejections],
        ),
    }
    for file, (header, data) in notes.items():
        (folder / EXTRA_DIR / file).write_text(header + to_yaml(data), encoding="utf-8")
    (folder / EXPORT_MARKER).write_text("written by `faqbot knowledge export`\n", encoding="utf-8")
    return ExportReport(str(folder), len(k.entries), sum(map(len, pack_aliases.values())), len(k.rejections))
