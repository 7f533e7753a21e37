"""A mock Slack on loopback, for tests and benchmarks: the Web API over HTTP and
the Socket Mode websocket, both real servers on 127.0.0.1 with free ports.

    with MockSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        ...
        calls = slack.wait_for("chat.postMessage")

The Web API records every call (method, parameters, headers) and answers like
Slack: `chat.postMessage` returns a fresh ts, `auth.test` the bot's identity,
`apps.connections.open` the mock websocket's URL. Per method you can inject
failures (`fail`: {"ok": false, "error": …}), rate limits (`rate_limit`: HTTP
429 with Retry-After) and stalls (`hold`: the reply waits for an event).
`usergroups.users.list` answers from canned data.
Anything POSTed to `response_url(name)` is recorded as method "response_url".

Messages are kept per channel: people's messages added with `add_message`
and everything the bot posts. `conversations.replies` reads them as Slack
does (the thread of any message in it, root first, narrowed by
oldest/latest/inclusive/limit), `chat.update` and `chat.delete` change them,
and `reactions.add`/`reactions.remove` keep the bot's reactions on them
(`reactions_on`). Canned threads in `replies` still take precedence.

The Socket Mode server sends `hello`, then the envelopes you push with
`socket.send(kind, payload)`, and records the client's acks by envelope id.

Payload builders at the end (`mention`, `message`, `reaction`,
`event_callback`, `command_form`, `block_actions`, `signed_headers`, `post`)
shape requests the way Slack does.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlencode

from slack_sdk.signature import SignatureVerifier
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "test-signing-secret"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0001"
# form fields that slack_sdk sends as JSON strings
_JSON_FIELDS = ("blocks", "attachments", "metadata", "view")


@dataclass
class Call:
    method: str
    params: dict
    headers: dict
    at: float  # time.perf_counter() when the request arrived
    status: int = 0  # what the mock answered, once it has
    response: Any = None

    @property
    def token(self) -> str:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else str(self.params.get("token", ""))

    def texts(self) -> list[str]:
        """Every string anywhere in the parameters (to search rendered output)."""
        out: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    walk(v)

        walk(self.params)
        return out


@dataclass
class _Fault:
    kind: str  # error | ratelimit | http
    times: int
    error: str = ""
    retry_after: int = 0
    status: int = 500


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[_Fault]] = field(default_factory=dict)
    holds: dict[str, threading.Event] = field(default_factory=dict)


def _ts_order(ts: Any) -> tuple[int, int]:
    seconds, _, fraction = str(ts or "0").partition(".")
    return (int(seconds or 0), int(fraction.ljust(6, "0")[:6] or 0)) if seconds.isdigit() else (0, 0)


class _Messages:
    """The workspace's messages, as conversations.replies and chat.update see them."""

    def __init__(self) -> None:
        self._by_channel: dict[str, dict[str, dict]] = {}
        self.reactions: dict[tuple[str, str], set[str]] = {}  # the bot's own reactions per message
        self._lock = threading.Lock()

    def put(self, channel: str, message: dict) -> None:
        with self._lock:
            self._by_channel.setdefault(channel, {})[message["ts"]] = message

    def get(self, channel: str, ts: str) -> Optional[dict]:
        with self._lock:
            message = self._by_channel.get(channel, {}).get(ts)
            return json.loads(json.dumps(message)) if message else None

    def update(self, channel: str, ts: str, fields: dict) -> bool:
        with self._lock:
            message = self._by_channel.get(channel, {}).get(ts)
            if message is None:
                return False
            message.update({k: v for k, v in fields.items() if v is not None})
            return True

    def delete(self, channel: str, ts: str) -> bool:
        with self._lock:
            return self._by_channel.get(channel, {}).pop(ts, None) is not None

    def thread(self, channel: str, ts: str) -> Optional[list[dict]]:
        """The thread `ts` belongs to, root first; None when there is no such message."""
        with self._lock:
            messages = self._by_channel.get(channel, {})
            if ts not in messages:
                return None
            root = messages[ts].get("thread_ts") or ts
            found = [m for m in messages.values() if m["ts"] == root or m.get("thread_ts") == root]
            return json.loads(json.dumps(sorted(found, key=lambda m: _ts_order(m["ts"]))))


def _narrowed(messages: list[dict], params: dict) -> list[dict]:
    """Slack's time window and page size: oldest < ts < latest (inclusive: <=), earliest first."""
    inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
    out = messages
    if params.get("oldest"):
        low = _ts_order(params["oldest"])
        out = [m for m in out if _ts_order(m["ts"]) > low or (inclusive and _ts_order(m["ts"]) == low)]
    if params.get("latest"):
        high = _ts_order(params["latest"])
        out = [m for m in out if _ts_order(m["ts"]) < high or (inclusive and _ts_order(m["ts"]) == high)]
    limit = int(params.get("limit") or 0)
    return out[:limit] if limit > 0 else out


def _decode_params(raw: bytes, content_type: str, query: str) -> dict:
    params: dict[str, Any] = dict(parse_qsl(query))
    text = raw.decode("utf-8", "replace")
    if "application/json" in content_type:
        body = json.loads(text or "{}")
        if isinstance(body, dict):
            params.update(body)
    else:
        params.update(parse_qsl(text, keep_blank_values=True))
    for name in _JSON_FIELDS:
        if isinstance(params.get(name), str):
            try:
                params[name] = json.loads(params[name])
            except ValueError:
                pass
    return params


class _ApiHandler(BaseHTTPRequestHandler):
    server: "_ApiServer"
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path.startswith("/api/"):
            method = path[len("/api/"):]
        elif path.startswith("/response/"):
            method = "response_url"
        else:
            self._reply(404, {"ok": False, "error": "unknown_path"})
            return
        try:
            params = _decode_params(raw, self.headers.get("Content-Type", ""), query)
        except ValueError:
            self._reply(400, {"ok": False, "error": "invalid_json"})
            return
        if method == "response_url":
            params["_response_name"] = path[len("/response/"):]
        status, body, headers = self.server.mock._handle(method, params, {k.lower(): v for k, v in self.headers.items()})
        self._reply(status, body, headers)

    do_GET = do_POST  # noqa: N815 (a few Web API methods accept GET)

    def _reply(self, status: int, body: Any, headers: Optional[dict] = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8" if not isinstance(body, str) else "text/plain")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mock: "MockSlack", port: int = 0):
        self.mock = mock
        super().__init__(("127.0.0.1", port), _ApiHandler)


class MockSocketMode:
    """The Socket Mode websocket: pushes envelopes, records acks."""

    def __init__(self) -> None:
        self._server = serve(self._session, "127.0.0.1", 0, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, name="mock-socket-mode", daemon=True)
        self._cond = threading.Condition()
        self._connections: list[ServerConnection] = []
        self.acks: dict[str, dict] = {}
        self.connects = 0

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket={uuid.uuid4()}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _session(self, conn: ServerConnection) -> None:
        with self._cond:
            self._connections.append(conn)
            self.connects += 1
            self._cond.notify_all()
        try:
            conn.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}, "debug_info": {}}))
            for raw in conn:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(message, dict) and message.get("envelope_id"):
                    with self._cond:
                        self.acks[message["envelope_id"]] = message
                        self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if conn in self._connections:
                    self._connections.remove(conn)
                self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self.acks.clear()

    def wait_connected(self, timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: bool(self._connections), timeout)

    def send(self, kind: str, payload: dict, retry_attempt: Optional[int] = None, retry_reason: str = "") -> str:
        """Push one envelope (kind: events_api | slash_commands | interactive); its envelope id."""
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        if retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason or "timeout"
        if not self.wait_connected():
            raise TimeoutError("no Socket Mode client connected")
        with self._cond:
            conn = self._connections[-1]
        conn.send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict:
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self.acks, timeout):
                raise TimeoutError(f"no ack for envelope {envelope_id}")
            return self.acks[envelope_id]


class MockSlack:
    def __init__(self, bot_user_id: str = BOT_USER_ID, bot_id: str = BOT_ID, team_id: str = TEAM_ID, port: int = 0):
        self.bot_user_id, self.bot_id, self.team_id = bot_user_id, bot_id, team_id
        self._state = _State()
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self.replies: dict[tuple[str, str], list[dict]] = {}  # canned: (channel, thread ts) -> messages
        self.messages = _Messages()
        self.usergroup_users: dict[str, list[str]] = {}
        self.permalink_base = "https://mock.slack.example/archives"
        self._api = _ApiServer(self, port)
        self._api_thread = threading.Thread(target=self._api.serve_forever, args=(0.05,), name="mock-slack-api", daemon=True)
        self.socket = MockSocketMode()
        self._handlers: dict[str, Callable[[dict], dict]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": lambda p: {"ok": True, "url": self.socket.url},
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": lambda p: {"ok": True, "message_ts": self._next_ts()},
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "conversations.replies": self._conversation_replies,
            "reactions.add": lambda p: self._react(p, True),
            "reactions.remove": lambda p: self._react(p, False),
            "usergroups.users.list": lambda p: {"ok": True, "users": list(self.usergroup_users.get(str(p.get("usergroup")), []))},
            "views.open": lambda p: {"ok": True, "view": {"id": "V0001", **(p.get("view") or {})}},
            "views.update": lambda p: {"ok": True, "view": {"id": p.get("view_id", "V0001"), **(p.get("view") or {})}},
            "views.publish": lambda p: {"ok": True, "view": {"id": "V0002", **(p.get("view") or {})}},
            "response_url": lambda p: "ok",
        }

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> "MockSlack":
        self._api_thread.start()
        self.socket.start()
        return self

    def stop(self) -> None:
        with self._cond:  # release anything still held, so handler threads can finish
            for event in self._state.holds.values():
                event.set()
        self._api.shutdown()
        self._api.server_close()
        self.socket.stop()

    def __enter__(self) -> "MockSlack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._api.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base_url}/response/{name}"

    # -- the workspace's messages ------------------------------------------------
    def add_message(self, text: str, channel: str = "C0001", user: str = "U0001", thread_ts: str = "", ts: str = "") -> str:
        """A person's message (a reply when thread_ts is given), readable with conversations.replies; its ts."""
        ts = ts or new_ts()
        message = {"type": "message", "user": user, "text": text, "ts": ts, "team": self.team_id}
        if thread_ts:
            message["thread_ts"] = thread_ts
            root = self.messages.get(channel, thread_ts)
            if root is not None and "thread_ts" not in root:  # as Slack marks a root once it has a reply
                self.messages.update(channel, thread_ts, {"thread_ts": thread_ts})
        self.messages.put(channel, message)
        return ts

    def message_at(self, channel: str, ts: str) -> Optional[dict]:
        """The message as it is now (after any chat.update), or None (deleted, or never posted)."""
        return self.messages.get(channel, ts)

    def reactions_on(self, channel: str, ts: str) -> set[str]:
        """The bot's reactions on a message, as they are now."""
        with self._cond:
            return set(self.messages.reactions.get((channel, ts), set()))

    # -- fault injection ------------------------------------------------------
    def fail(self, method: str, error: str = "channel_not_found", times: int = 1) -> None:
        """The next `times` calls answer HTTP 200 {"ok": false, "error": error}."""
        self._add_fault(method, _Fault("error", times, error=error))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls answer HTTP 429 with Retry-After."""
        self._add_fault(method, _Fault("ratelimit", times, retry_after=retry_after))

    def http_error(self, method: str, status: int = 500, times: int = 1) -> None:
        self._add_fault(method, _Fault("http", times, status=status))

    def hold(self, method: str) -> threading.Event:
        """Calls of `method` are recorded at once but answered only after the event is set."""
        event = threading.Event()
        with self._cond:
            self._state.holds[method] = event
        return event

    def _add_fault(self, method: str, fault: _Fault) -> None:
        with self._cond:
            self._state.faults.setdefault(method, []).append(fault)

    def _take_fault(self, method: str) -> Optional[_Fault]:
        with self._cond:
            queue = self._state.faults.get(method) or []
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    # -- records --------------------------------------------------------------
    def calls(self, method: Optional[str] = None) -> list[Call]:
        with self._cond:
            return [c for c in self._state.calls if method is None or c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """The first `count` calls of `method`, once there are that many (TimeoutError if not in time)."""
        with self._cond:
            ok = self._cond.wait_for(lambda: sum(c.method == method for c in self._state.calls) >= count, timeout)
            found = [c for c in self._state.calls if c.method == method]
        if not ok:
            raise TimeoutError(f"{method}: {len(found)} of {count} calls after {timeout}s")
        return found[:count]

    def reset(self) -> None:
        with self._cond:
            self._state = _State()
        self.socket.clear()

    # -- the Web API ----------------------------------------------------------
    def _handle(self, method: str, params: dict, headers: dict) -> tuple[int, Any, dict]:
        call = Call(method, params, headers, time.perf_counter())
        with self._cond:
            self._state.calls.append(call)
            hold = self._state.holds.get(method)
            self._cond.notify_all()
        if hold is not None:
            hold.wait(30)
        status, body, headers = self._answer(method, params)
        with self._cond:
            call.status, call.response = status, body
            self._cond.notify_all()
        return status, body, headers

    def _answer(self, method: str, params: dict) -> tuple[int, Any, dict]:
        fault = self._take_fault(method)
        if fault is not None:
            if fault.kind == "ratelimit":
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(fault.retry_after)}
            if fault.kind == "http":
                return fault.status, {"ok": False, "error": "internal_error"}, {}
            return 200, {"ok": False, "error": fault.error}, {}
        handler = self._handlers.get(method)
        if handler is None:
            return 200, {"ok": True}, {}
        return 200, handler(params), {}

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _auth_test(self, params: dict) -> dict:
        return {
            "ok": True, "url": "https://mock.slack.example/", "team": "Mock Team", "user": "faqbot",
            "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id, "is_enterprise_install": False,
        }

    def _post_message(self, params: dict) -> dict:
        ts = self._next_ts()
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "ts": ts, "text": params.get("text", "")}
        if isinstance(params.get("blocks"), list):
            message["blocks"] = params["blocks"]
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        self.messages.put(str(params.get("channel")), message)
        return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}

    def _update(self, params: dict) -> dict:
        channel, ts = str(params.get("channel")), str(params.get("ts"))
        blocks = params.get("blocks") if isinstance(params.get("blocks"), list) else None
        # an update of a message the mock never saw (posted before the store existed) still succeeds
        self.messages.update(channel, ts, {"text": params.get("text", ""), "blocks": blocks})
        return {"ok": True, "channel": channel, "ts": ts, "text": params.get("text", "")}

    def _delete(self, params: dict) -> dict:
        self.messages.delete(str(params.get("channel")), str(params.get("ts")))
        return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}

    def _react(self, params: dict, add: bool) -> dict:
        key, name = (str(params.get("channel")), str(params.get("timestamp"))), str(params.get("name"))
        with self._cond:
            names = self.messages.reactions.setdefault(key, set())
            if add and name in names:
                return {"ok": False, "error": "already_reacted"}
            if not add and name not in names:
                return {"ok": False, "error": "no_reaction"}
            (names.add if add else names.discard)(name)
        return {"ok": True}

    def _permalink(self, params: dict) -> dict:
        ts = str(params.get("message_ts", "")).replace(".", "")
        return {"ok": True, "channel": params.get("channel"), "permalink": f"{self.permalink_base}/{params.get('channel')}/p{ts}"}

    def _conversation_replies(self, params: dict) -> dict:
        key = (str(params.get("channel")), str(params.get("ts")))
        if key in self.replies:
            return {"ok": True, "messages": list(self.replies[key]), "has_more": False}
        thread = self.messages.thread(*key)
        if thread is None:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": _narrowed(thread, params), "has_more": False}


# -- payloads, shaped as Slack sends them ------------------------------------
_event_ids = itertools.count(1)
_message_ts = itertools.count(1)


def new_ts() -> str:
    return f"{1_600_000_000 + next(_message_ts)}.000200"


def mention(text: str, channel: str = "C0001", user: str = "U0001", ts: str = "", thread_ts: str = "", bot_user_id: str = BOT_USER_ID) -> dict:
    """An app_mention event; `text` follows the bot's mention, as when typed in Slack."""
    event = {"type": "app_mention", "user": user, "text": f"<@{bot_user_id}> {text}", "ts": ts or new_ts(), "channel": channel, "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message(text: str, channel: str = "C0001", user: str = "U0001", ts: str = "", thread_ts: str = "", **extra: Any) -> dict:
    """A `message` event (channel_type channel); `extra` adds subtype, bot_id, …"""
    event = {"type": "message", "channel_type": "channel", "user": user, "text": text, "ts": ts or new_ts(), "channel": channel, **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def reaction(
    name: str, channel: str, ts: str, user: str = "U0001", item_user: str = "U0002", added: bool = True, event_ts: str = "",
) -> dict:
    """A reaction_added (or, added=False, reaction_removed) event on the message (channel, ts)."""
    return {
        "type": "reaction_added" if added else "reaction_removed", "user": user, "reaction": name,
        "item_user": item_user, "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": event_ts or new_ts(),
    }


def event_callback(event: dict, event_id: str = "", team_id: str = TEAM_ID) -> dict:
    return {
        "token": "legacy", "team_id": team_id, "api_app_id": "A0001", "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}", "event_time": int(time.time()), "event": event,
        "authorizations": [{"team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def command_form(text: str, user: str = "U0001", channel: str = "C0001", response_url: str = "", command: str = "/faq") -> dict:
    return {
        "token": "legacy", "team_id": TEAM_ID, "team_domain": "mock", "channel_id": channel, "channel_name": "general",
        "user_id": user, "user_name": "someone", "command": command, "text": text, "api_app_id": "A0001",
        "response_url": response_url, "trigger_id": f"{uuid.uuid4().int % 10**12}.1.abc",
    }


def block_actions(
    action: dict, user: str = "U0001", channel: str = "C0001", message_ts: str = "", thread_ts: str = "",
    ephemeral: bool = False, response_url: str = "",
) -> dict:
    """A block_actions payload for a click on `action` (a button dict as the bot rendered it)."""
    message_ts = message_ts or new_ts()
    container = {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": ephemeral}
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": TEAM_ID, "domain": "mock"}, "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "A0001", "trigger_id": "1.2.3", "container": container, "channel": {"id": channel, "name": "general"},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action["action_id"], "block_id": "b1", "value": action.get("value", ""),
                     "text": action.get("text", {}), "action_ts": str(time.time())}],
    }
    if not ephemeral:
        payload["message"] = {"type": "message", "ts": message_ts, "user": BOT_USER_ID, "bot_id": BOT_ID, "text": ""}
        if thread_ts:
            payload["message"]["thread_ts"] = thread_ts
    elif thread_ts:
        container["thread_ts"] = thread_ts
    return payload


def http_body(kind: str, payload: dict) -> tuple[bytes, str]:
    """The HTTP body and content type Slack uses for a kind of request."""
    if kind == "events_api":
        return json.dumps(payload).encode("utf-8"), "application/json"
    if kind == "slash_commands":
        return urlencode(payload).encode("utf-8"), "application/x-www-form-urlencoded"
    return urlencode({"payload": json.dumps(payload)}).encode("utf-8"), "application/x-www-form-urlencoded"


def signed_headers(body: bytes, secret: str = SIGNING_SECRET, timestamp: Optional[int] = None) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body.decode("utf-8"))
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def post(url: str, body: bytes, content_type: str, headers: Optional[dict] = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """POST and return (status, body), also for 4xx/5xx."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class BotUnderTest:
    """The real Slack service (adapters.slack) running against a MockSlack, with one
    way to deliver a request whatever the transport: "http" posts a signed request
    to /slack/events, "socket" pushes an envelope through the mock websocket."""

    def __init__(self, mock: MockSlack, ctx: Any, transport: str = "http", feedback: Any = None, workers: int = 4):
        from adapters.slack.service import SlackService
        from adapters.slack.settings import SlackSettings

        self.mock, self.transport = mock, transport
        settings = SlackSettings(
            mode=transport, bot_token=BOT_TOKEN, app_token=APP_TOKEN, signing_secret=SIGNING_SECRET,
            api_url=mock.api_url, host="127.0.0.1", port=0, workers=workers,
        )
        self.service = SlackService(ctx, settings, feedback=feedback)

    def start(self) -> "BotUnderTest":
        self.service.start()
        if self.transport == "socket" and not self.mock.socket.wait_connected():
            raise TimeoutError("the Socket Mode client did not connect")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.service.stop(timeout)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}/slack/events"

    @property
    def bot(self) -> Any:
        return self.service.slack.bot

    def deliver(self, kind: str, payload: dict, retry: Optional[int] = None) -> Any:
        """Deliver one request and wait for the ack: the HTTP status, or the Socket Mode ack."""
        if self.transport == "socket":
            return self.mock.socket.wait_ack(self.mock.socket.send(kind, payload, retry_attempt=retry))
        body, content_type = http_body(kind, payload)
        headers = signed_headers(body)
        if retry is not None:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        status, _ = post(self.events_url, body, content_type, headers)
        return status

    def event(self, event: dict, event_id: str = "", retry: Optional[int] = None) -> Any:
        return self.deliver("events_api", event_callback(event, event_id), retry)

    def command(self, text: str, **fields: Any) -> Any:
        fields.setdefault("response_url", self.mock.response_url("cmd"))
        return self.deliver("slash_commands", command_form(text, **fields))

    def click(self, button: dict, **fields: Any) -> Any:
        return self.deliver("interactive", block_actions(button, **fields))

    def idle(self, timeout: float = 10.0) -> None:
        """Wait until every answer for the requests delivered so far is done."""
        if not self.service.slack.executor.wait_idle(timeout):
            raise TimeoutError("the bot is still busy")


# -- reading what the bot posted ----------------------------------------------
def buttons(blocks: Any) -> list[dict]:
    """Every button in a message's blocks, in order."""
    return [e for b in blocks or () if b.get("type") == "actions" for e in b.get("elements", [])]


def visible_text(blocks: Any, text: str = "") -> str:
    """What Slack shows of a message: fallback text, sections, context lines, button labels."""
    out = [text] if text else []
    for block in blocks or ():
        if block.get("type") == "section":
            out.append(block["text"]["text"])
        elif block.get("type") == "context":
            out += [e["text"] for e in block["elements"]]
    out += [b["text"]["text"] for b in buttons(blocks)]
    return "\n".join(out)


def shown(call: Call) -> str:
    return visible_text(call.params.get("blocks"), str(call.params.get("text", "")))


def _demo() -> None:
    """`python tests/support/slack_mock.py [PORT]`: a mock Slack to run `faqbot slack` against
    by hand. Each line typed here is sent to the bot as an @mention; what the bot
    posts is printed."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8888
    with MockSlack(port=port) as mock:
        print(f"mock Slack at {mock.api_url}; in another shell:\n"
              f"  SLACK_API_URL={mock.api_url} SLACK_BOT_TOKEN={BOT_TOKEN} SLACK_APP_TOKEN={APP_TOKEN} faqbot slack\n"
              "then type questions here (Ctrl-D to quit).", flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            if not mock.socket.wait_connected(timeout=1):
                print("(no bot connected yet)", flush=True)
                continue
            seen = len(mock.calls("chat.postMessage"))
            mock.socket.send("events_api", event_callback(mention(line.strip())))
            try:
                reply = mock.wait_for("chat.postMessage", count=seen + 1, timeout=10)[-1]
            except TimeoutError:
                print("(no answer)", flush=True)
                continue
            text = visible_text(reply.params.get("blocks"), "")
            text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")  # as Slack would show it
            print("bot> " + text.replace("\n", "\n     "), flush=True)


if __name__ == "__main__":
    _demo()
