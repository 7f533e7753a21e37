"""The page's JSON API and access rules over real HTTP (uvicorn on loopback), and how `faqbot run` serves it."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest

from bot.ops.config import Config, ConfigError, WebConfig
from bot.ops.serve import build_context
from bot.store import LoggedQuestion

pytest.importorskip("starlette", reason="pip install -e '.[web]'")
TOKEN = "api-test-token-0123456789"


def _ready(url: str, headers: dict, timeout_s: float = 10.0) -> tuple[int, dict]:
    """The figures are computed in the background: until then the API says `computing`."""
    deadline = time.monotonic() + timeout_s
    while True:
        status, body = _get(url, headers)
        if not body.get("computing") or time.monotonic() > deadline:
            return status, body
        time.sleep(0.1)


def _get(url: str, headers: dict | None = None) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


@pytest.fixture
def served(sample_pack_dir, tmp_path):
    from bot.web.service import WebService

    config = Config(packs=(str(sample_pack_dir),), data_dir=str(tmp_path / "data"),
                    web=WebConfig(enabled=True, port=0, secure_cookies=False))
    ctx = build_context(config)
    for i, text in enumerate(["how do i rotate container logs", "how to rotate docker container logs"]):
        ctx.learner.store.log_question(LoggedQuestion(datetime.now(timezone.utc), "slack", "C1", text, "reply", "unknown", user=f"U{i}"))
    web = WebService(ctx, token=TOKEN, refresh_s=0.1)
    web.start()
    yield ctx, f"http://127.0.0.1:{web.port}/admin"
    web.stop(5)


def test_the_api_needs_the_bearer_token(served):
    _, base = served
    for path in ("gaps", "suggestions", "stats"):
        assert _get(f"{base}/api/{path}")[0] == 401
        assert _get(f"{base}/api/{path}", {"Authorization": "Bearer wrong-token-0123456789"})[0] == 401
        assert _get(f"{base}/api/{path}", {"Authorization": f"Basic {TOKEN}"})[0] == 401
    status, gaps = _ready(f"{base}/api/gaps", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and [g["asked"] for g in gaps["gaps"]] == [2]
    status, stats = _ready(f"{base}/api/stats", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and stats["totals"] == {"unknown": 2} and stats["shares"]["unknown"] == 1.0
    assert {s["entry"].split("/")[-1] for s in stats["stale"]} >= {"slow-pull"}  # the sample pack has no review dates
    assert _ready(f"{base}/api/suggestions", {"Authorization": f"Bearer {TOKEN}"}) == (200, {"suggestions": []})


def test_pages_redirect_to_sign_in_and_changes_are_refused_without_a_session(served):
    _, base = served
    request = urllib.request.Request(f"{base}/gaps")
    with urllib.request.urlopen(request, timeout=10) as r:  # redirected to the sign-in form
        assert r.url.endswith("/admin/login")
    post = urllib.request.Request(f"{base}/knowledge/learned-1001/remove", data=b"csrf=x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(post, timeout=10)
    assert err.value.code == 403


def test_faqbot_run_serves_the_page_only_when_enabled_and_with_a_token(sample_pack_dir, tmp_path, monkeypatch):
    from bot.ops.runner import Runner

    monkeypatch.delenv("FAQBOT_ADMIN_TOKEN", raising=False)
    base = dict(packs=(str(sample_pack_dir),), data_dir=str(tmp_path / "data"))
    assert "web" not in [s.name for s in Runner(Config(**base)).services]
    with pytest.raises(ConfigError, match="FAQBOT_ADMIN_TOKEN"):
        Runner(Config(**base, web=WebConfig(enabled=True, port=0)))
    monkeypatch.setenv("FAQBOT_ADMIN_TOKEN", "short")
    with pytest.raises(ConfigError):
        Runner(Config(**base, web=WebConfig(enabled=True, port=0)))
    monkeypatch.setenv("FAQBOT_ADMIN_TOKEN", TOKEN)
    runner = Runner(Config(**base, web=WebConfig(enabled=True, port=0)))
    assert [s.name for s in runner.services][-1] == "web" and runner.ctx.suggestions is not None
