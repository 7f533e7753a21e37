"""The question log's record: one question the bot was asked, or overheard and nearly answered.

`LoggedQuestion` crosses module lines (the adapters' hook writes it, the
maintainers' page reads it); these helpers turn it into a table row and back.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

DECISIONS = ("answer", "suggest", "unknown", "quiet")
MODES = ("reply", "ambient")
MAX_TOP = 5
MAX_TEXT_CHARS = 2000


@dataclass(frozen=True)
class LoggedQuestion:
    at: datetime  # timezone-aware UTC
    platform: str  # "slack" | "qq" | "console" | ...
    channel: str
    text: str  # the normalised question text
    mode: str  # "reply" (asked directly) | "ambient" (overheard)
    decision: str  # "answer" | "suggest" | "unknown" | "quiet"
    top: tuple[tuple[str, float], ...] = ()  # (entry key, confidence), best first, at most 5
    answered: str = ""  # entry key answered, "" if none
    user: str = ""  # "" unless question_log.keep_user_ids is true
    id: Optional[int] = None


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def question_row(q: LoggedQuestion) -> dict:
    from .sql import storable

    top = [[storable(str(key)), round(float(score), 6)] for key, score in q.top[:MAX_TOP]]
    return dict(
        at=_utc(q.at), platform=storable(q.platform), channel=storable(q.channel), text=storable(q.text[:MAX_TEXT_CHARS]),
        mode=q.mode, decision=q.decision, top=json.dumps(top, ensure_ascii=False), answered=storable(q.answered),
        user=storable(q.user),
        top_score=top[0][1] if top else 0.0,
    )


def question_from_row(r: Any) -> LoggedQuestion:
    try:
        top = tuple((str(k), float(s)) for k, s in json.loads(r.top or "[]"))
    except (ValueError, TypeError):
        top = ()
    return LoggedQuestion(
        at=_utc(r.at), platform=r.platform, channel=r.channel, text=r.text, mode=r.mode, decision=r.decision,
        top=top, answered=r.answered, user=r.user, id=int(r.id),
    )
