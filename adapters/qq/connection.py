"""WebSocket connections to a OneBot v11 implementation (NapCat, LLOneBot, Lagrange).

Forward: the bot connects to the implementation's WebSocket server, sending the
access token as `Authorization: Bearer …`, and reconnects with capped
exponential backoff whenever the connection drops or the implementation
restarts. Reverse: the bot listens and the implementation connects to it; the
token is checked as `Bearer` or the older `Token` scheme (or `?access_token=`).

Either way one connection becomes a `Link`: events are parsed and handed to a
sink, API calls are matched to their responses by `echo` and time out. A
failed call is a value (`ApiResult.ok` false), never an exception, so one bad
send cannot take the adapter down.
"""
from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any, Callable, Mapping, Optional
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.client import connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from bot.ops import Metrics

from .events import Event, parse_event, qq_id

log = logging.getLogger("faqbot.qq")

RETCODE_DISCONNECTED = -1
RETCODE_TIMEOUT = -2
BASE_DELAY_S = 0.5
MAX_FRAME_BYTES = 16 * 2**20  # forwarded chat records can be large
CLOSE_TIMEOUT_S = 2.0

# event, time.perf_counter() when it arrived, the link it came on
EventSink = Callable[[Event, float], None]


@dataclass(frozen=True)
class ApiResult:
    ok: bool
    retcode: int
    data: Any = None
    message: str = ""


def backoff_delay(attempt: int, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before reconnect attempt `attempt` (0-based): doubling up to `cap`,
    with jitter so that many bots do not reconnect to a restarted server in lockstep."""
    cap = max(cap, 0.01)
    ceiling = min(cap, min(BASE_DELAY_S, cap) * 2 ** min(attempt, 30))
    return ceiling / 2 + rand() * ceiling / 2


def token_accepted(headers: Mapping[str, str], path: str, token: str) -> Optional[bool]:
    """Check a reverse connection's access token: True ok, False wrong, None missing."""
    if not token:
        return True
    offered = ""
    scheme, _, value = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() in ("bearer", "token"):
        offered = value.strip()
    if not offered:
        offered = (parse_qs(urlsplit(path).query).get("access_token") or [""])[0]
    if not offered:
        return None
    return hmac.compare_digest(offered.encode(), token.encode())


class Link:
    """One open connection: reads events, carries API calls."""

    def __init__(self, ws: Any, sink: EventSink, timeout: float, self_id: str = "", can_call: bool = True):
        self.ws = ws
        self.sink = sink
        self.timeout = timeout
        self.self_id = self_id
        self.can_call = can_call
        self._pending: dict[str, asyncio.Future] = {}
        self._echo_prefix = secrets.token_hex(4) + ":"
        self._counter = itertools.count(1)

    async def serve(self) -> None:
        """Read until the connection closes; calls still waiting then fail at once."""
        try:
            async for raw in self.ws:
                self._dispatch(raw, time.perf_counter())
        except ConnectionClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_result(ApiResult(False, RETCODE_DISCONNECTED, message="connection closed"))

    def _dispatch(self, raw: str | bytes, received: float) -> None:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # a deeply nested frame is as unreadable as a broken one
            log.debug("ignoring a frame that is not JSON (or nested too deeply to read)")
            return
        if not isinstance(data, dict):
            return
        if "post_type" not in data and "echo" in data:
            self._resolve(data)
            return
        event = parse_event(data)
        if event is None:
            return
        if event.self_id:
            self.self_id = event.self_id
        elif self.self_id:
            event = replace(event, self_id=self.self_id)
        self.sink(event, received)

    def _resolve(self, data: dict) -> None:
        future = self._pending.get(data["echo"]) if isinstance(data["echo"], str) else None
        if future is None or future.done():
            return  # a response that came after its call timed out
        retcode = data.get("retcode")
        retcode = retcode if isinstance(retcode, int) and not isinstance(retcode, bool) else RETCODE_DISCONNECTED
        message = data.get("message") or data.get("wording") or data.get("msg") or data.get("status") or ""
        future.set_result(ApiResult(retcode == 0, retcode, data.get("data"), str(message)))

    async def call(self, action: str, params: dict) -> ApiResult:
        echo = f"{self._echo_prefix}{next(self._counter)}"
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[echo] = future
        frame = json.dumps({"action": action, "params": params, "echo": echo}, ensure_ascii=False)

        async def roundtrip() -> ApiResult:
            await self.ws.send(frame)  # can block too, when the other side stops reading
            return await future

        try:
            return await asyncio.wait_for(roundtrip(), self.timeout)
        except asyncio.TimeoutError:
            return ApiResult(False, RETCODE_TIMEOUT, message=f"no response to {action} within {self.timeout:g}s")
        except ConnectionClosed:
            return ApiResult(False, RETCODE_DISCONNECTED, message="connection closed")
        finally:
            self._pending.pop(echo, None)

    async def close(self) -> None:
        await self.ws.close()


class Links:
    """The open links, by account. A call waits (up to the timeout) for a link to
    come back rather than failing the moment a reconnect is under way."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._links: list[Link] = []
        self._added = asyncio.Event()

    def add(self, link: Link) -> None:
        self._links.append(link)
        self._added.set()
        self._added = asyncio.Event()

    def remove(self, link: Link) -> None:
        if link in self._links:
            self._links.remove(link)

    async def carry(self, link: Link) -> None:
        """Offer `link` for calls while it reads events, until it closes."""
        self.add(link)
        try:
            await link.serve()
        finally:
            self.remove(link)

    def __iter__(self):
        return iter(list(self._links))

    def _pick(self, self_id: str) -> Optional[Link]:
        usable = [link for link in self._links if link.can_call]
        # the account's own link; else one whose account is not known yet (never another account's)
        fitting = [link for link in usable if self_id and link.self_id == self_id]
        fitting = fitting or [link for link in usable if not self_id or not link.self_id]
        return fitting[-1] if fitting else None

    async def call(self, self_id: str, action: str, params: dict) -> ApiResult:
        deadline = time.monotonic() + self.timeout
        while (link := self._pick(self_id)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return ApiResult(False, RETCODE_DISCONNECTED, message="not connected")
            try:
                await asyncio.wait_for(self._added.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return await link.call(action, params)


async def run_forward(
    url: str, token: str, links: Links, sink: EventSink, reconnect_max_s: float, metrics: Metrics
) -> None:
    """Stay connected to `url` until cancelled."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    attempt, connected_before = 0, False
    while True:
        try:
            async with connect(
                url, additional_headers=headers, proxy=None, open_timeout=links.timeout,
                max_size=MAX_FRAME_BYTES, close_timeout=CLOSE_TIMEOUT_S,
            ) as ws:
                if connected_before:
                    metrics.inc("reconnects", platform="qq")
                connected_before, attempt = True, 0
                log.info("connected to OneBot at %s", url)
                await links.carry(Link(ws, sink, links.timeout))
                log.warning("connection to OneBot at %s lost; reconnecting", url)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
                log.error("OneBot at %s refused the access token (HTTP %s): check ONEBOT_ACCESS_TOKEN", url, status)
            else:
                log.warning("OneBot at %s answered HTTP %s instead of a WebSocket", url, status)
        except (OSError, asyncio.TimeoutError, WebSocketException) as exc:
            log.warning("cannot connect to OneBot at %s: %s", url, exc or type(exc).__name__)
        except Exception:  # a bug must not end the reconnect loop and leave the bot deaf
            log.exception("the connection to OneBot at %s failed unexpectedly; reconnecting", url)
            metrics.inc("connection_errors", platform="qq")
        delay = backoff_delay(attempt, reconnect_max_s)
        attempt += 1
        await asyncio.sleep(delay)


async def serve_reverse(
    host: str, port: int, token: str, links: Links, sink: EventSink, metrics: Optional[Metrics] = None
) -> Server:
    """Listen for implementations connecting to the bot (reverse WebSocket)."""
    metrics = metrics or Metrics()

    def check(connection: ServerConnection, request: Any) -> Any:
        accepted = token_accepted(request.headers, request.path, token)
        if accepted:
            return None
        peer = connection.remote_address[0] if connection.remote_address else "?"
        log.warning("refused a reverse connection from %s: %s access token", peer, "wrong" if accepted is False else "missing")
        if accepted is None:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "access token required\n")
        return connection.respond(HTTPStatus.FORBIDDEN, "wrong access token\n")

    async def accept(ws: ServerConnection) -> None:
        headers = ws.request.headers if ws.request else {}
        role = (headers.get("X-Client-Role") or "Universal").lower()
        link = Link(ws, sink, links.timeout, qq_id(headers.get("X-Self-ID")), can_call=role != "event")
        log.info("OneBot connected (reverse, role %s, account %s)", role, link.self_id or "?")
        try:
            await links.carry(link)
        except Exception:  # logged and counted; the implementation reconnects on its own
            log.exception("the reverse connection from account %s failed unexpectedly", link.self_id or "?")
            metrics.inc("connection_errors", platform="qq")
            return
        log.warning("reverse connection from account %s closed", link.self_id or "?")

    return await serve(
        accept, host, port, process_request=check, max_size=MAX_FRAME_BYTES, close_timeout=CLOSE_TIMEOUT_S
    )
