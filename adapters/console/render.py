"""How results look on a terminal."""
from __future__ import annotations

from bot.chat import result_text
from bot.matching import MatchResult


def render_result(result: MatchResult, verbose: bool = False) -> str:
    text = result_text(result)
    if not verbose:
        return text
    lines = [text, "", f"[{result.decision.value}: {result.reason.value}, confidence {result.score:.2f}, lang {result.lang}]"]
    for cand in result.candidates:
        lines.append(f"  {cand.score:.2f}  #{cand.entry.n} {cand.entry.id}: {cand.entry.question}")
    return "\n".join(lines)
