"""Who may use the maintainers' page: one admin token, signed session cookies, CSRF tokens.

- Sign-in compares the token typed with $FAQBOT_ADMIN_TOKEN in constant time.
- The session is a cookie signed with itsdangerous (keyed by the token, so
  changing the token signs everyone out), holding the maintainer's display
  name, a random CSRF token and its age; it expires after `web.session_hours`.
- Every change (POST) must carry the session's CSRF token (form field `csrf`
  or header `X-CSRF-Token`, which htmx sends); without both, it is refused.
- The JSON API also accepts `Authorization: Bearer <token>` (no cookie, so no CSRF).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, Optional

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "faqbot_admin"
TOKEN_ENV = "FAQBOT_ADMIN_TOKEN"
MIN_TOKEN_CHARS = 16
_NAME = re.compile(r"[^\w.@-]+")


@dataclass(frozen=True)
class Session:
    name: str  # who signed in, as the audit log names them: "web:<name>"
    csrf: str

    @property
    def who(self) -> str:
        return f"web:{self.name}"


def clean_name(raw: str) -> str:
    return _NAME.sub("", (raw or "").strip())[:40] or "admin"


def token_ok(given: str, token: str) -> bool:
    return bool(token) and hmac.compare_digest((given or "").encode(), token.encode())


class Auth:
    def __init__(self, token: str, max_age_s: float):
        if len(token or "") < MIN_TOKEN_CHARS:
            raise ValueError(f"${TOKEN_ENV} must be set to at least {MIN_TOKEN_CHARS} characters to serve the page")
        self.token = token
        self.max_age_s = int(max_age_s)
        key = hashlib.sha256(b"faqbot-web-session\x00" + token.encode()).hexdigest()
        self._signer = URLSafeTimedSerializer(key, salt="faqbot-admin-session")

    def new_session(self, name: str) -> tuple[Session, str]:
        session = Session(clean_name(name), secrets.token_urlsafe(24))
        return session, self._signer.dumps({"n": session.name, "c": session.csrf})

    def session(self, cookie: Optional[str]) -> Optional[Session]:
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=self.max_age_s)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str) or not isinstance(data.get("c"), str):
            return None
        return Session(clean_name(data["n"]), data["c"])

    def bearer(self, header: Optional[str]) -> bool:
        scheme, _, value = (header or "").partition(" ")
        return scheme.lower() == "bearer" and token_ok(value.strip(), self.token)

    @staticmethod
    def csrf_ok(session: Optional[Session], given: Any) -> bool:
        return session is not None and isinstance(given, str) and hmac.compare_digest(given.encode(), session.csrf.encode())
