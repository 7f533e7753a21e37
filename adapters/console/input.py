"""Messages from the console's stdin.

Read from the file descriptor, not through sys.stdin: a thread blocked
inside sys.stdin's buffered reader holds its lock, and Python aborts at exit
when it finds that lock taken. Bytes that are not UTF-8 read as U+FFFD, and
a line without an end is cut every MAX_LINE_CHARS, so no input stops the
reader or fills memory.

A message is one line, except on a terminal: there, lines that arrive
together are one message. A paste (an error message and its stack trace, a
question followed by the log it is about) reaches the terminal as a burst of
lines; a person typing presses Enter a human interval apart. So after each
line the reader waits PASTE_WINDOW_S for more input; whatever is already
there, or arrives within the window, joins the message. Piped input (a
script, `echo … | faqbot chat`) stays one message per line.
"""
from __future__ import annotations

import codecs
import os
import select
from typing import Iterator

MAX_LINE_CHARS = 100_000
READ_BYTES = 65536
# far below the ~150 ms between two Enter presses of the fastest typist, far above
# the gap between the lines of one paste (a terminal writes a paste in one go)
PASTE_WINDOW_S = 0.08


def _cut(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _ready(fd: int, timeout: float) -> bool:
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
    except (OSError, ValueError):
        return False
    return bool(readable)


def messages(fd: int, window_s: float = PASTE_WINDOW_S, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """Messages of a file descriptor: each line, or (window_s > 0) each burst of lines joined.

    Bytes are decoded as UTF-8 (errors replaced); a line longer than `max_chars` is cut
    into pieces, and a joined message stops growing at `max_chars` (the next line starts
    a new one), so memory stays bounded whatever arrives."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    group: list[str] = []
    size = 0
    ended = False
    while True:
        if "\n" in pending:
            line, pending = pending.split("\n", 1)
        elif len(pending) >= max_chars:  # a line without an end yet: cut it
            line, pending = pending[:max_chars], pending[max_chars:]
        elif ended:
            line, pending = pending, ""
            if not line:
                if group:
                    yield "\n".join(group)
                return
        else:
            # nothing complete yet; with lines in hand, wait only a moment for the rest of a paste
            if group and not _ready(fd, window_s):
                yield "\n".join(group)
                group, size = [], 0
                continue
            chunk = os.read(fd, READ_BYTES)
            ended = not chunk
            pending += decoder.decode(chunk, final=ended)
            continue
        for piece in _cut(line, max_chars):
            if group and (window_s <= 0 or size + len(piece) > max_chars):
                yield "\n".join(group)
                group, size = [], 0
            group.append(piece)
            size += len(piece) + 1
        if window_s <= 0:
            yield "\n".join(group)
            group, size = [], 0
