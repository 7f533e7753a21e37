"""HTTP mode: a small threaded HTTP server that hands POST /slack/events to the
Bolt App. Bolt answers url_verification and acks; this module moves bytes and
turns away what is not Slack's before anything parses it.

The signature is checked here, on the raw bytes, before the body is parsed:
an unsigned body that is an array, a string or nested a thousand deep would
make Bolt's parser raise before its own checks ran (no status, a dropped
connection, a traceback per 7-byte request). What is refused gets a status
(400, 401, 411, 413) and at most one short log line per LOG_EVERY_S.
"""
from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import urlsplit

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger("faqbot.slack")

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1 << 20  # Slack payloads are a few KB; refuse to buffer anything huge
# A slash command's form is parsed by urllib's parse_qs, ~0.15 ms per KB of percent-encoded
# text: above this it would hold a thread (and the GIL) for over 20 ms, and a /faq line this
# long is not a question. (A click's `payload=` form carries the clicked message, which can be
# long; it is signed by Slack, checked first, so nobody else can make the bot parse one.)
MAX_FORM_BYTES = 128 << 10
READ_TIMEOUT_S = 10
LOG_EVERY_S = 60.0  # refused requests are logged at most this often (with a count of the others)


class RefusalLog:
    """One short line per `every` seconds for refused requests, however many arrive:
    junk aimed at a public endpoint must not flood the log."""

    def __init__(self, every: float = LOG_EVERY_S, clock=time.monotonic):
        self.every, self.clock = every, clock
        self._lock = threading.Lock()
        self._last = -float("inf")
        self._quiet = 0  # refusals not logged since the last line

    def refused(self, status: int, reason: str, peer: str) -> None:
        with self._lock:
            now = self.clock()
            if now - self._last < self.every:
                self._quiet += 1
                return
            quiet, self._quiet, self._last = self._quiet, 0, now
        more = f" (and {quiet} more since the last report)" if quiet else ""
        log.warning("slack: refused a request from %s with %d: %s%s", peer, status, reason, more)


class _Handler(BaseHTTPRequestHandler):
    server: "SlackHttpServer"
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT_S  # a client that stalls mid-request does not hold a thread forever

    def _refuse(self, status: int, reason: str) -> None:
        self.server.refusals.refused(status, reason, self.address_string())
        self._send(status)

    def _send(self, status: int, body: bytes = b"", headers: Optional[dict] = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if urlsplit(self.path).path != EVENTS_PATH:
            self._send(404)
        else:
            self._send(405, b"", {"Allow": "POST"})

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path != EVENTS_PATH:
            self._send(404)
            return
        length_header = self.headers.get("Content-Length", "")
        if not (length_header.isascii() and length_header.isdigit() and len(length_header) <= 12):
            self.close_connection = True  # the body's end is unknown: the connection cannot be reused
            self._refuse(411, "no valid Content-Length")
            return
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._refuse(413, f"a body of {length} bytes")
            return
        raw = self.rfile.read(length)
        if length > MAX_FORM_BYTES and not raw.startswith(b"payload=") and "json" not in (self.headers.get("Content-Type") or ""):
            self._refuse(413, f"a slash command form of {length} bytes")
            return
        stamp = self.headers.get("X-Slack-Request-Timestamp", "")
        if stamp and not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            # Bolt's verifier would fail with a 500 on int(); this is just an unsigned request
            self._refuse(401, "a malformed timestamp")
            return
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._refuse(400, "a body that is not UTF-8")
            return
        verifier = self.server.verifier
        if verifier is not None and not verifier.is_valid(body, stamp or None, self.headers.get("X-Slack-Signature")):
            self._refuse(401, "no valid signature (or older than 5 minutes)")
            return
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        try:
            request = BoltRequest(body=body, query=url.query, headers=headers)
        except (ValueError, RecursionError, AttributeError, TypeError) as exc:
            # JSON that is not JSON, too deep to read, or not an object (an array, a string)
            self._refuse(400, f"a body Bolt cannot read ({type(exc).__name__})")
            return
        try:
            response = self.server.app.dispatch(request)
        except Exception:  # Bolt catches listener errors itself; this is a last resort
            log.exception("slack request failed")
            self._send(500)
            return
        out_headers = {name: values[0] for name, values in response.headers.items() if name.lower() != "content-length"}
        self._send(response.status, (response.body or "").encode("utf-8"), out_headers)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("http %s " + format, self.address_string(), *args)


class SlackHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: App, host: str, port: int, signing_secret: str = ""):
        self.app = app
        # Bolt checks the signature again; checking it first means nothing unsigned is parsed
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.refusals = RefusalLog()
        super().__init__((host, port), _Handler)
        self._thread: Optional[threading.Thread] = None

    def handle_error(self, request: object, client_address: object) -> None:
        """socketserver prints a traceback per failed request; a broken client is one short line."""
        self.refusals.refused(0, "the connection failed mid-request", str(client_address))

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> None:
        # a short poll interval: shutdown() waits for the loop's next poll
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="faqbot-slack-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests; requests already inside dispatch finish on their threads."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()
