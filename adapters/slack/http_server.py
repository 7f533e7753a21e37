"""HTTP mode: a small threaded HTTP server that hands POST /slack/events to the
Bolt App. Bolt checks the signature (401 on a bad or stale one), answers
url_verification, and acks; this module only moves bytes."""
from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import urlsplit

from slack_bolt import App
from slack_bolt.request import BoltRequest

log = logging.getLogger("faqbot.slack")

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1 << 20  # Slack payloads are a few KB; refuse to buffer anything huge
READ_TIMEOUT_S = 10


class _Handler(BaseHTTPRequestHandler):
    server: "SlackHttpServer"
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT_S  # a client that stalls mid-request does not hold a thread forever

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
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(411)
            return
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(413)
            return
        raw = self.rfile.read(length)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._send(400)
            return
        stamp = self.headers.get("X-Slack-Request-Timestamp", "")
        if stamp and not (stamp.isascii() and stamp.isdigit()):
            # Bolt's verifier would fail with a 500 on int(); this is just an unsigned request
            self._send(401)
            return
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        try:
            request = BoltRequest(body=body, query=url.query, headers=headers)
        except ValueError:  # a JSON body that is not JSON
            self._send(400)
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

    def __init__(self, app: App, host: str, port: int):
        self.app = app
        super().__init__((host, port), _Handler)
        self._thread: Optional[threading.Thread] = None

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
