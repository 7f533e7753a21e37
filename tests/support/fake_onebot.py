"""A fake OneBot v11 implementation (the part of NapCat a FAQ bot talks to).

A real `websockets` server on a loopback port, run in its own thread and event
loop so that tests and benchmarks drive it with plain blocking calls:

- it checks the access token (`Authorization: Bearer …` or `?access_token=`)
  and refuses a missing one with 401, a wrong one with 403;
- it greets each connection with a lifecycle event and pushes group messages
  (segment arrays or CQ strings, numeric or string ids), notices, meta events
  or any raw frame to every connected client;
- it answers actions by `echo`: send_group_msg/send_msg (recorded, given a
  message id, readable back with get_msg), get_msg (canned or recorded
  messages), set_msg_emoji_like, delete_msg, get_login_info,
  get_group_member_info (roles set with `set_role`); it can fail the next calls
  of an action with an error retcode, refuse an action for good as an
  implementation without it does, hold responses and send them out of order,
  or never answer an action at all;
- it sends emoji reactions as NapCat/LLOneBot (`group_msg_emoji_like`) or
  Lagrange (`reaction`, with removals) report them;
- it can drop every connection without a close handshake (a crash) or restart
  on the same port, and it can play the client side of a reverse WebSocket.

It is deliberately independent of adapters/qq: it shares no code with the bot
it is testing.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed, InvalidStatus

Message = Union[str, list]


@dataclass(frozen=True)
class Call:
    action: str
    params: dict
    echo: Any
    received: float  # time.perf_counter() when the fake read it


class FakeOneBot:
    def __init__(self, token: str = "", self_id: int = 10001, host: str = "127.0.0.1", port: int = 0):
        self.token = token
        self.self_id = self_id
        self.host = host
        self.port = port
        self.calls: list[Call] = []
        self.rejected: list[int] = []  # HTTP status of every refused handshake
        self.accepted: list[dict] = []  # handshake headers of every accepted connection
        self.sent_at: dict[int, float] = {}  # event message id -> perf_counter just before it went out
        self.messages: dict[str, dict] = {}  # message id -> what get_msg returns
        self.bot_messages: list[int] = []  # ids given to the bot's messages, in the order it sent them
        self._cond = threading.Condition()
        self._clients: set = set()
        self._ids = itertools.count(5001)
        self._failures: dict[str, list[int]] = {}
        self._hold = 0
        self._held: list[tuple[Any, dict]] = []
        self._silent: set[str] = set()
        self._refused: dict[str, int] = {}
        self.roles: dict[tuple[int, int], str] = {}  # (group, user) -> owner | admin | member
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._server = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> "FakeOneBot":
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-onebot", daemon=True)
        self._thread.start()
        self._run(self._listen())
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        self._run(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> "FakeOneBot":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _run(self, coro: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _listen(self) -> None:
        self._server = await serve(self._accept, self.host, self.port, process_request=self._check)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for ws in list(self._clients):
            await ws.close()

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- the server side ---------------------------------------------------------
    def _check(self, connection: Any, request: Any) -> Any:
        if not self.token:
            return None
        offered = ""
        auth = request.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            offered = auth[len("Bearer "):].strip()
        elif "access_token=" in request.path:
            offered = request.path.split("access_token=", 1)[1].split("&", 1)[0]
        if offered == self.token:
            return None
        status = 403 if offered else 401
        with self._cond:
            self.rejected.append(status)
            self._cond.notify_all()
        return connection.respond(status, "bad token\n")

    async def _accept(self, ws: Any) -> None:
        with self._cond:
            self.accepted.append(dict(ws.request.headers.raw_items()))
        await self._session(ws, greet=True)

    async def _session(self, ws: Any, greet: bool) -> None:
        self._clients.add(ws)
        self._changed()
        try:
            if greet:
                await ws.send(json.dumps(self._event("meta_event", meta_event_type="lifecycle", sub_type="connect")))
            async for raw in ws:
                await self._on_action(ws, json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(ws)
            self._changed()

    async def _on_action(self, ws: Any, data: dict) -> None:
        call = Call(data.get("action", ""), data.get("params") or {}, data.get("echo"), time.perf_counter())
        response = None if call.action in self._silent else self._respond(call)
        batch: list[tuple[Any, dict]] = []
        if response is not None and self._hold:
            self._held.append((ws, response))
            if len(self._held) >= self._hold:
                batch, self._held, self._hold = self._held[::-1], [], 0
        elif response is not None:
            batch = [(ws, response)]
        for target, payload in batch:
            try:
                await target.send(json.dumps(payload, ensure_ascii=False))
            except ConnectionClosed:
                pass
        # recorded once answered: whoever waits for a call can rely on the response being
        # on its way, as a user can only reply to a message they have seen
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _respond(self, call: Call) -> dict:
        failures = self._failures.get(call.action)
        if failures:
            return self._result(call, None, failures.pop(0))
        if call.action in self._refused:
            return self._result(call, None, self._refused[call.action])
        params = call.params
        if call.action in ("send_group_msg", "send_msg"):
            message_id = next(self._ids)
            self.bot_messages.append(message_id)
            self.messages[str(message_id)] = {
                "message_id": message_id, "real_id": message_id, "message_type": "group",
                "group_id": params.get("group_id"), "user_id": self.self_id,
                "sender": {"user_id": self.self_id, "nickname": "bot"}, "message": params.get("message"),
            }
            return self._result(call, {"message_id": message_id})
        if call.action == "get_msg":
            stored = self.messages.get(str(params.get("message_id")))
            return self._result(call, stored) if stored else self._result(call, None, 1404)
        if call.action in ("set_msg_emoji_like", "delete_msg"):
            return self._result(call, None)
        if call.action == "get_login_info":
            return self._result(call, {"user_id": self.self_id, "nickname": "bot"})
        if call.action == "get_group_member_info":
            group, user = int(params.get("group_id", 0)), int(params.get("user_id", 0))
            role = self.roles.get((group, user))
            if role is None:
                return self._result(call, None, 1404)
            return self._result(call, {"group_id": group, "user_id": user, "nickname": f"user{user}", "role": role})
        return self._result(call, None, 1404)

    @staticmethod
    def _result(call: Call, data: Any, retcode: int = 0) -> dict:
        response = {"status": "ok" if retcode == 0 else "failed", "retcode": retcode, "data": data, "echo": call.echo}
        if retcode:
            response.update(message="fake failure", wording="fake failure")
        return response

    def _event(self, post_type: str, **fields: Any) -> dict:
        return {"time": int(time.time()), "self_id": self.self_id, "post_type": post_type, **fields}

    async def _broadcast(self, payload: str, message_id: Optional[int] = None) -> None:
        if message_id is not None:
            self.sent_at[message_id] = time.perf_counter()
        for ws in list(self._clients):
            try:
                await ws.send(payload)
            except ConnectionClosed:
                pass

    # -- what tests send -----------------------------------------------------------
    def group_message(
        self,
        group_id: int,
        message: Message,
        user_id: int = 20001,
        *,
        str_ids: bool = False,
        message_id: Optional[int] = None,
        role: str = "member",
    ) -> int:
        """Push a group message event (array or CQ string, as given); returns its message id."""
        message_id = message_id or next(self._ids)
        ident: Callable[[int], Any] = str if str_ids else int
        raw = message if isinstance(message, str) else "".join(
            s.get("data", {}).get("text", "") for s in message if isinstance(s, dict)
        )
        event = self._event(
            "message", message_type="group", sub_type="normal", message_id=ident(message_id),
            group_id=ident(group_id), user_id=ident(user_id), message=message, raw_message=raw, font=14,
            sender={"user_id": ident(user_id), "nickname": f"user{user_id}", "card": "", "role": role},
        )
        if str_ids:
            event["self_id"] = str(self.self_id)
        self.messages[str(message_id)] = {
            "message_id": message_id, "real_id": message_id, "message_type": "group", "group_id": group_id,
            "user_id": user_id, "sender": {"user_id": user_id, "nickname": f"user{user_id}"}, "message": message,
        }
        self._run(self._broadcast(json.dumps(event, ensure_ascii=False), message_id))
        return message_id

    def store_message(self, message_id: int, user_id: int, message: Message, group_id: int = 0) -> None:
        """A canned message for get_msg (one the bot never saw arrive)."""
        self.messages[str(message_id)] = {
            "message_id": message_id, "real_id": message_id, "message_type": "group", "group_id": group_id,
            "user_id": user_id, "sender": {"user_id": user_id, "nickname": f"user{user_id}"}, "message": message,
        }

    def notice(self, notice_type: str, **fields: Any) -> None:
        self._run(self._broadcast(json.dumps(self._event("notice", notice_type=notice_type, **fields))))

    def meta(self, meta_event_type: str = "heartbeat", **fields: Any) -> None:
        fields.setdefault("status", {"online": True, "good": True})
        fields.setdefault("interval", 30000)
        self._run(self._broadcast(json.dumps(self._event("meta_event", meta_event_type=meta_event_type, **fields))))

    def send_raw(self, payload: Union[str, dict]) -> None:
        self._run(self._broadcast(payload if isinstance(payload, str) else json.dumps(payload)))

    # -- how actions are answered -----------------------------------------------------
    def fail_next(self, action: str, retcode: int = 100, times: int = 1) -> None:
        self._failures.setdefault(action, []).extend([retcode] * times)

    def reorder_next(self, count: int) -> None:
        """Hold the next `count` responses and send them in reverse order."""
        self._hold, self._held = count, []

    def never_answer(self, action: str) -> None:
        self._silent.add(action)

    def refuse(self, action: str, retcode: int = 1404) -> None:
        """Fail every call of `action`, as an implementation that does not have it (1404: no such action)."""
        self._refused[action] = retcode

    def set_role(self, group_id: int, user_id: int, role: str) -> None:
        """What get_group_member_info reports for this member (unknown members: retcode 1404)."""
        self.roles[(group_id, user_id)] = role

    # -- reactions, as implementations report them ------------------------------------------
    def napcat_reaction(
        self, group_id: int, message_id: int, user_id: int, emoji_id: Union[int, str], *,
        str_ids: bool = False, operator_field: str = "user_id", is_add: Optional[bool] = None,
    ) -> None:
        """NapCat/LLOneBot `group_msg_emoji_like` (some versions name the reactor `operator_id`;
        older ones have no `is_add` and report additions only)."""
        ident: Callable[[int], Any] = str if str_ids else int
        fields: dict[str, Any] = {
            "group_id": ident(group_id), "message_id": ident(message_id), operator_field: ident(user_id),
            "likes": [{"emoji_id": str(emoji_id) if str_ids else emoji_id, "count": 1}],
        }
        if is_add is not None:
            fields["is_add"] = is_add
        self.notice("group_msg_emoji_like", **fields)

    def lagrange_reaction(
        self, group_id: int, message_id: int, operator_id: int, code: Union[int, str], *,
        added: bool = True, str_ids: bool = False,
    ) -> None:
        """Lagrange.OneBot `reaction`, `sub_type` add or remove."""
        ident: Callable[[int], Any] = str if str_ids else int
        self.notice(
            "reaction", sub_type="add" if added else "remove", group_id=ident(group_id), message_id=ident(message_id),
            operator_id=ident(operator_id), code=str(code), count=1 if added else 0,
        )

    # -- observing ------------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def calls_of(self, action: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.action == action]

    def wait_calls(self, action: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """The first `count` calls of `action`; AssertionError if they do not come in time."""
        if not self.wait_for(lambda: len([c for c in self.calls if c.action == action]) >= count, timeout):
            raise AssertionError(f"expected {count} {action} call(s), got {len(self.calls_of(action))}")
        return self.calls_of(action)[:count]

    @property
    def connected(self) -> int:
        return len(self._clients)

    def wait_connected(self, count: int = 1, timeout: float = 5.0) -> None:
        if not self.wait_for(lambda: len(self._clients) >= count, timeout):
            raise AssertionError(f"expected {count} connection(s), have {len(self._clients)}")

    # -- faults ------------------------------------------------------------------------------
    def drop(self) -> None:
        """Cut every connection without a close handshake, as a crash would."""

        async def abort() -> None:
            for ws in list(self._clients):
                ws.transport.abort()

        self._run(abort())
        self.wait_for(lambda: not self._clients)

    def restart(self) -> None:
        """Go away and come back on the same port, as a restarted NapCat does."""
        self._run(self._shutdown())
        self.wait_for(lambda: not self._clients)
        self._run(self._listen())

    # -- the reverse direction: the fake connects to the bot -------------------------------------
    def connect_reverse(
        self, url: str, token: Optional[str] = None, scheme: str = "Bearer", role: str = "Universal"
    ) -> Optional[int]:
        """Connect to the bot like an implementation with a reverse WebSocket; returns the
        HTTP status when the bot refuses, None once connected."""
        headers = {"X-Self-ID": str(self.self_id), "X-Client-Role": role}
        if token is not None:
            headers["Authorization"] = f"{scheme} {token}"
        ready: asyncio.Future = self._loop.create_future()

        async def run() -> None:
            try:
                async with connect(url, additional_headers=headers, proxy=None) as ws:
                    ready.set_result(None)
                    await self._session(ws, greet=True)
            except InvalidStatus as exc:
                if not ready.done():
                    ready.set_result(exc.response.status_code)
            except OSError:
                if not ready.done():
                    ready.set_result(-1)  # nobody listening

        async def start() -> Optional[int]:
            asyncio.get_running_loop().create_task(run())
            return await ready

        return self._run(start())


# -- segment builders, as an implementation posts them -----------------------------------------------
def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll for state inside the bot, which the fake cannot see (wait_for sees only the fake's own)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def sent_text(call: Call) -> str:
    """The text of a message the bot sent, checking that it is exactly [reply?, text]:
    nothing a user or the knowledge wrote can become markup."""
    message = call.params["message"]
    assert [seg["type"] for seg in message] in (["reply", "text"], ["text"])
    return message[-1]["data"]["text"]


def text(value: str) -> dict:
    return {"type": "text", "data": {"text": value}}


def at(qq: Union[int, str]) -> dict:
    return {"type": "at", "data": {"qq": qq, "name": ""}}


def reply(message_id: Union[int, str]) -> dict:
    return {"type": "reply", "data": {"id": str(message_id)}}


def image() -> dict:
    return {"type": "image", "data": {"file": "abc.image", "url": "https://example.org/a.png", "summary": "[图片]"}}


def face(face_id: int = 14) -> dict:
    return {"type": "face", "data": {"id": str(face_id)}}
