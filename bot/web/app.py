"""The maintainers' page: what the bot misses, and the buttons that steer it.

A Starlette app under /admin, server-rendered Jinja2 templates, htmx (vendored
in static/, no JavaScript build step) for the "try a question" box and for
buttons that replace one card. Views: Overview, Gaps, Suggestions, Knowledge,
Audit; JSON API: /admin/api/gaps, /admin/api/suggestions, /admin/api/stats.

Every change goes through the Learner (so it is applied live, stored, and
audited like a gesture in chat, as "web:<name>"), or, for what the Learner
does not know (dismissing a gap or a suggestion), through the store's audit
log directly. Every change needs a signed session and its CSRF token.
"""
from __future__ import annotations

import asyncio
import io
import logging
import secrets
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import data
from ..learning.gaps import as_json as gap_json
from ..learning.gaps import find_cluster
from ..learning.staleness import as_json as stale_json
from ..learning.suggestions import ALIAS, SuggestionBook
from .auth import COOKIE, Auth, Session, token_ok

log = logging.getLogger("faqbot.web")

HERE = Path(__file__).resolve().parent
PREFIX = "/admin"
MAX_FIELD_CHARS = 4000
FAILED_SIGN_IN_DELAY_S = 1.0


@dataclass
class WebDeps:
    """What the page reads and changes: the live engine and learner, the store, the suggestions."""

    ctx: Any  # bot.ops.runtime.BotContext
    book: SuggestionBook
    gaps: data.GapCache
    stats: data.StatsCache
    waiting: data.WaitingCache

    @property
    def engine(self) -> Any:
        return self.ctx.engine

    @property
    def learner(self) -> Any:
        return self.ctx.learner

    @property
    def store(self) -> Any:
        return self.ctx.learner.store


def _svg_bars(days: Any, height: int = 120) -> str:
    """Questions per day as stacked bars (answered / suggested / unanswered), inline SVG stretched to the width."""
    from markupsafe import escape

    days = list(days)
    peak = max([d.answer + d.suggest + d.unknown for d in days] + [1])
    width = max(len(days), 1) * 10
    parts = [f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none" class="chart" role="img" aria-label="questions per day">']
    for i, d in enumerate(days):
        y = height
        for value, cls in ((d.answer, "a"), (d.suggest, "s"), (d.unknown, "u")):
            h = value / peak * height
            if h:
                y -= h
                parts.append(f'<rect class="{cls}" x="{i * 10 + 1}" y="{y:.1f}" width="8" height="{h:.1f}"><title>{d.day}: {value}</title></rect>')
    parts.append("</svg>")
    if days:
        parts.append(f'<div class="axis"><span>{escape(days[0].day)}</span><span>peak {peak}/day</span><span>{escape(days[-1].day)}</span></div>')
    return "".join(parts)


def _hbars(rows: Any, total: Optional[int] = None) -> str:
    """Horizontal bars for (label, count) rows, inline SVG (labels escaped by the template's caller)."""
    from markupsafe import escape

    rows = list(rows)
    peak = max([n for _, n in rows] + [1])
    h = 22 * len(rows)
    parts = [f'<svg viewBox="0 0 300 {max(h, 22)}" class="hchart" role="img">']
    for i, (label, n) in enumerate(rows):
        w = n / peak * 140
        parts.append(f'<text x="0" y="{i * 22 + 15}" class="lbl">{escape(str(label))[:38]}</text>')
        parts.append(f'<rect class="a" x="150" y="{i * 22 + 4}" width="{w:.1f}" height="14"></rect>')
        parts.append(f'<text x="{155 + w:.1f}" y="{i * 22 + 15}" class="lbl">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def build_app(deps: WebDeps, token: str, secure_cookies: bool = True, session_hours: float = 12.0) -> Starlette:
    auth = Auth(token, session_hours * 3600)
    templates = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]))
    templates.globals.update(prefix=PREFIX, svg_bars=_svg_bars, hbars=_hbars)

    def render(request: Request, name: str, session: Optional[Session], status: int = 200, **values: Any) -> HTMLResponse:
        page = templates.get_template(name).render(request=request, session=session, view=name.split(".")[0], **values)
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                                                "Referrer-Policy": "same-origin"})

    def session_of(request: Request) -> Optional[Session]:
        return auth.session(request.cookies.get(COOKIE))

    Handler = Callable[[Request, Session], Awaitable[Response]]

    def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            session = session_of(request)
            if session is None:
                return RedirectResponse(f"{PREFIX}/login", status_code=303)
            return await handler(request, session)
        return run

    def change(handler: Callable[[Request, Session, Any], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """A POST that changes something: a valid session and its CSRF token, or 403."""
        async def run(request: Request) -> Response:
            session = session_of(request)
            form = await request.form()
            given = request.headers.get("x-csrf-token") or form.get("csrf")
            if session is None or not auth.csrf_ok(session, given):
                log.warning("refused a change without a valid session or CSRF token: %s", request.url.path)
                return HTMLResponse("refused: sign in again (missing or invalid session or CSRF token)", status_code=403)
            return await handler(request, session, form)
        return run

    def api(producer: Callable[[Request], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            if not (auth.bearer(request.headers.get("authorization")) or session_of(request)):
                return JSONResponse({"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            return JSONResponse(producer(request))
        return run

    def _limit(request: Request, default: int) -> int:
        raw = request.query_params.get("limit", "")
        return max(1, min(int(raw), 10_000)) if raw.isascii() and raw.isdigit() and len(raw) < 10 else default

    def audit(session: Session, action: str, result: str, entry_id: str = "", detail: str = "") -> None:
        from ..store import AuditRecord

        deps.store.append_audit(AuditRecord(
            at=datetime.now(timezone.utc).isoformat(timespec="seconds"), who=session.who, platform="web", channel="",
            message_ids=(), action=action, event=f"web:{action}:{secrets.token_hex(6)}", result=result,
            entry_id=entry_id, detail=detail[:200],
        ))

    def actor(session: Session) -> Any:
        from ..learning.learning import Actor

        return Actor("web", session.name)

    def ref(what: str) -> Any:
        from ..learning.learning import MessageRef

        return MessageRef("web", "", what)

    def text(form: Any, name: str) -> str:
        return str(form.get(name) or "").strip()[:MAX_FIELD_CHARS]

    # -- sign-in -------------------------------------------------------------------------
    async def login_form(request: Request) -> Response:
        return render(request, "login.html", None)

    async def login(request: Request) -> Response:
        form = await request.form()
        if not token_ok(str(form.get("token") or ""), auth.token):
            log.warning("failed sign-in to the maintainers' page from %s", request.client.host if request.client else "?")
            await asyncio.sleep(FAILED_SIGN_IN_DELAY_S)  # guessing the token costs time
            return render(request, "login.html", None, status=401, error="wrong token")
        session, cookie = auth.new_session(str(form.get("name") or ""))
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(COOKIE, cookie, max_age=auth.max_age_s, httponly=True, secure=secure_cookies, samesite="strict", path=PREFIX)
        return response

    async def logout(request: Request, session: Session, form: Any) -> Response:
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    # -- views ------------------------------------------------------------------------------
    async def overview(request: Request, session: Session) -> Response:
        current = deps.stats.get()
        if current is None:
            return render(request, "computing.html", session, what="the overview figures")
        return render(request, "overview.html", session, stats=current, find=deps.engine.find)

    async def gaps(request: Request, session: Session) -> Response:
        clusters = deps.gaps.clusters()
        return render(request, "gaps.html", session, clusters=clusters[:50] if clusters is not None else None,
                      find=deps.engine.find, done=request.query_params.get("done", ""))

    async def suggestions(request: Request, session: Session) -> Response:
        from ..learning.suggestions import State

        decided = [s for s in deps.waiting.every() or [] if s.state is not State.WAITING][:50]
        return render(request, "suggestions.html", session, waiting=deps.waiting.waiting(), decided=decided, find=deps.engine.find)

    async def knowledge(request: Request, session: Session) -> Response:
        search = request.query_params.get("q", "").strip()[:200]
        entries = deps.engine.entries
        if search:
            folded = search.casefold()
            entries = [e for e in entries if folded in f"{e.n} {e.id} {e.question} {e.question_en} {' '.join(e.aliases)} {e.answer}".casefold()]
        stale = {s.entry_id: s for s in data.stale(deps.engine, deps.store.engine, deps.ctx.config)}
        return render(request, "knowledge.html", session, entries=entries[:300], total=len(entries), search=search, stale=stale)

    async def try_question(request: Request, session: Session) -> Response:
        question = request.query_params.get("q", "").strip()[:500]
        result = deps.engine.ask(question, "reply") if question else None
        ranked = deps.engine.ask(question, "reply", depth=5).candidates if question else ()
        return render(request, "try.html", session, question=question, result=result, ranked=ranked)

    async def audit_view(request: Request, session: Session) -> Response:
        return render(request, "audit.html", session, rows=data.audit(deps.store.engine, 300))

    # -- changes ------------------------------------------------------------------------------
    def _cluster(cluster_id: str) -> Any:
        return find_cluster(deps.gaps.clusters() or [], cluster_id)

    def _handled(cluster: Any, session: Session, action: str, result: str, entry_id: str = "") -> None:
        deps.book.usage.dismiss(cluster.queries, session.who)
        deps.gaps.invalidate()
        audit(session, action, result, entry_id, cluster.title)

    async def gap_answer(request: Request, session: Session, form: Any) -> Response:
        cluster = _cluster(request.path_params["cluster"])
        question, answer = text(form, "question"), text(form, "answer")
        if cluster is None or not answer:
            return HTMLResponse("no such gap, or no answer given", status_code=400)
        outcome = deps.learner.teach_pair(actor(session), question or cluster.title, answer, ref(cluster.id),
                                          f"web:gap-answer:{cluster.id}:{secrets.token_hex(4)}", force_new=True)
        if outcome.entry is None or not outcome.changed:
            return HTMLResponse(f"not learned: {outcome.message}", status_code=409)
        for q in cluster.queries:
            if q != (question or cluster.title):
                deps.learner.confirm_alias(actor(session), q, outcome.entry.id, ref(cluster.id), f"web:gap-alias:{cluster.id}:{secrets.token_hex(4)}")
        _handled(cluster, session, "gap_answer", "created", outcome.entry.id)
        return RedirectResponse(f"{PREFIX}/gaps?done={outcome.entry.id}", status_code=303)

    async def gap_attach(request: Request, session: Session, form: Any) -> Response:
        cluster = _cluster(request.path_params["cluster"])
        entry = deps.engine.find(text(form, "entry").split("/")[-1]) if text(form, "entry") else None
        if cluster is None or entry is None:
            return HTMLResponse("no such gap or entry", status_code=400)
        for q in cluster.queries:
            deps.learner.confirm_alias(actor(session), q, entry.id, ref(cluster.id), f"web:gap-attach:{cluster.id}:{secrets.token_hex(4)}")
        _handled(cluster, session, "gap_attach", "alias_added", entry.id)
        return RedirectResponse(f"{PREFIX}/gaps?done={entry.id}", status_code=303)

    async def gap_dismiss(request: Request, session: Session, form: Any) -> Response:
        cluster = _cluster(request.path_params["cluster"])
        if cluster is None:
            return HTMLResponse("no such gap", status_code=400)
        _handled(cluster, session, "gap_dismiss", "dismissed")
        return RedirectResponse(f"{PREFIX}/gaps", status_code=303)

    async def suggestion_decide(request: Request, session: Session, form: Any) -> Response:
        key, verb = request.path_params["key"], request.path_params["verb"]
        if verb == "approve":
            outcome = deps.book.approve(key, session.who)
            ok = outcome is not None and outcome.action.value not in ("failed", "not_maintainer")
        elif verb == "dismiss":
            ok = deps.book.dismiss(key, session.who)
            if ok:
                audit(session, "suggestion_dismiss", "dismissed", detail=key)
        else:
            return HTMLResponse("unknown action", status_code=404)
        return RedirectResponse(f"{PREFIX}/suggestions", status_code=303) if ok else HTMLResponse("no such suggestion", status_code=400)

    async def entry_remove(request: Request, session: Session, form: Any) -> Response:
        outcome = deps.learner.forget(actor(session), request.path_params["entry"], ref("knowledge"), lang="en",
                                      event_key=f"web:forget:{secrets.token_hex(6)}")
        return RedirectResponse(f"{PREFIX}/knowledge", status_code=303) if outcome.changed else HTMLResponse(outcome.message, status_code=400)

    async def entry_edit(request: Request, session: Session, form: Any) -> Response:
        """A learned entry's new text: the old one is forgotten and the new one learned (both audited)."""
        entry = deps.engine.find(request.path_params["entry"])
        question, answer = text(form, "question"), text(form, "answer")
        if entry is None or not entry.learned or not question or not answer:
            return HTMLResponse("only learned entries can be edited here, with a question and an answer", status_code=400)
        gone = deps.learner.forget(actor(session), entry.id, ref("knowledge"), lang="en", event_key=f"web:edit-forget:{secrets.token_hex(6)}")
        if not gone.changed:
            return HTMLResponse(gone.message, status_code=409)
        deps.learner.teach_pair(actor(session), question, answer, ref("knowledge"), f"web:edit:{secrets.token_hex(6)}", force_new=True)
        return RedirectResponse(f"{PREFIX}/knowledge", status_code=303)

    async def export(request: Request, session: Session) -> Response:
        with tempfile.TemporaryDirectory(prefix="faqbot-export-") as tmp:
            folder = Path(tmp) / "learned-pack"
            deps.learner.export(folder)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        zf.write(path, str(path.relative_to(Path(tmp))))
        return Response(buffer.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": 'attachment; filename="learned-pack.zip"'})

    # -- JSON API ------------------------------------------------------------------------------
    def api_gaps(request: Request) -> Any:
        clusters = deps.gaps.clusters()
        if clusters is None:
            return {"computing": True, "gaps": []}
        return {"gaps": [gap_json(c) for c in clusters[: _limit(request, 100)]]}

    def api_suggestions(request: Request) -> Any:
        from ..learning.suggestions import State

        wanted = request.query_params.get("state", "")
        found = deps.waiting.every()
        if found is None:
            return {"computing": True, "suggestions": []}
        found = [s for s in found if not wanted or s.state.value == wanted]
        return {"suggestions": [
            {"key": s.key, "kind": s.kind, "question": s.question, "entry": s.entry_id, "people": list(s.people),
             "channels": list(s.channels), "signals": list(s.signals), "against": list(s.against), "state": s.state.value,
             "decided_by": s.decided_by, "last_at": s.last_at.isoformat()}
            for s in found[: _limit(request, 200)]
        ]}

    def api_stats(request: Request) -> Any:
        current = deps.stats.get()
        if current is None:
            return {"computing": True}
        out = current.as_json()
        out["stale"] = [stale_json(s) for s in data.stale(deps.engine, deps.store.engine, deps.ctx.config)]
        return out

    async def root(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    routes = [
        Route("/", root), Route(PREFIX, root),
        Route(f"{PREFIX}/login", login_form, methods=["GET"]),
        Route(f"{PREFIX}/login", login, methods=["POST"]),
        Route(f"{PREFIX}/logout", change(logout), methods=["POST"]),
        Route(f"{PREFIX}/", page(overview)),
        Route(f"{PREFIX}/gaps", page(gaps)),
        Route(f"{PREFIX}/gaps/{{cluster}}/answer", change(gap_answer), methods=["POST"]),
        Route(f"{PREFIX}/gaps/{{cluster}}/attach", change(gap_attach), methods=["POST"]),
        Route(f"{PREFIX}/gaps/{{cluster}}/dismiss", change(gap_dismiss), methods=["POST"]),
        Route(f"{PREFIX}/suggestions", page(suggestions)),
        Route(f"{PREFIX}/suggestions/{{key}}/{{verb}}", change(suggestion_decide), methods=["POST"]),
        Route(f"{PREFIX}/knowledge", page(knowledge)),
        Route(f"{PREFIX}/knowledge/try", page(try_question)),
        Route(f"{PREFIX}/knowledge/export", page(export)),
        Route(f"{PREFIX}/knowledge/{{entry}}/remove", change(entry_remove), methods=["POST"]),
        Route(f"{PREFIX}/knowledge/{{entry}}/edit", change(entry_edit), methods=["POST"]),
        Route(f"{PREFIX}/audit", page(audit_view)),
        Route(f"{PREFIX}/api/gaps", api(api_gaps)),
        Route(f"{PREFIX}/api/suggestions", api(api_suggestions)),
        Route(f"{PREFIX}/api/stats", api(api_stats)),
        Mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes)
