"""Browser sessions, kept on the server (table web_sessions), and the person they sign in.

The cookie holds a random id only; the table keeps its SHA-256, so a copy of the database gives no
usable cookie. The cookie is HttpOnly, SameSite=Lax, and Secure unless the node is served over plain
HTTP on this machine (REGISTRY_SESSION_COOKIE_SECURE). A session ends after REGISTRY_SESSION_IDLE_TIMEOUT
without a request and REGISTRY_SESSION_MAX_AGE after it began, and at once when its account is disabled,
loses a role or has its second factor reset. `rotate` gives the session a new id (at every sign-in, so an
id planted before it is worth nothing after). Only the pages have sessions: the API knows bearer tokens only.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import Flask, g, request, session
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete
from werkzeug.datastructures import CallbackDict

from registry import models
from registry.api import context_of
from registry.auth import people
from registry.db import utcnow
from registry.web.security import is_page

COOKIE = "registry_session"
# last_seen_at is written at most this often for a session that changed nothing else.
TOUCH_EVERY = timedelta(seconds=60)
PERSON = "person_id"
SIGNED_IN_AT = "signed_in_at"


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, data=None, sid: str | None = None, created_at: datetime | None = None,
                 last_seen_at: datetime | None = None):
        def changed(_):
            self.modified = True

        super().__init__(data or {}, changed)
        self.sid, self.created_at, self.last_seen_at = sid, created_at, last_seen_at
        self.modified = False
        self.rotate_id = False


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class DatabaseSessions(SessionInterface):
    def open_session(self, app: Flask, request):
        if not is_page(request.path) or request.path.startswith("/assets/"):
            return None  # Flask's null session: the API and the assets neither read nor set one
        sid = request.cookies.get(COOKIE)
        if not sid or len(sid) > 64:
            return ServerSession()
        ctx = context_of(app)
        with ctx.db.read() as db:
            row = db.get(models.WebSession, _hash(sid))
            if row is None:
                return ServerSession()
            data, created_at, last_seen_at = dict(row.data), row.created_at, row.last_seen_at
        now = utcnow()
        settings = ctx.settings
        if (now - last_seen_at > timedelta(seconds=settings.session_idle_timeout)
                or now - created_at > timedelta(seconds=settings.session_max_age)):
            self._delete(app, sid)
            fresh = ServerSession()
            if PERSON in data:
                g.session_ended = True
            return fresh
        return ServerSession(data, sid, created_at, last_seen_at)

    def _delete(self, app: Flask, sid: str) -> None:
        with context_of(app).db.write() as db:
            db.execute(delete(models.WebSession).where(models.WebSession.id_hash == _hash(sid)))

    def save_session(self, app: Flask, session: ServerSession, response) -> None:
        if not isinstance(session, ServerSession):
            return
        settings = context_of(app).settings
        cookie = {"httponly": True, "samesite": "Lax", "secure": settings.secure_cookies, "path": "/"}
        if session.sid and (session.rotate_id or not session):
            self._delete(app, session.sid)
            if not session:
                response.delete_cookie(COOKIE, **cookie)
                return
            session.sid = None
        if not session:
            return
        now = utcnow()
        if session.sid is None:
            session.sid, session.created_at = secrets.token_urlsafe(32), now
        elif not session.modified and now - session.last_seen_at < TOUCH_EVERY:
            return
        with context_of(app).db.write() as db:
            db.merge(models.WebSession(id_hash=_hash(session.sid), person_id=session.get(PERSON), data=dict(session),
                                       created_at=session.created_at, last_seen_at=now))
        # A session cookie (no Max-Age): the server decides when the session ends.
        response.set_cookie(COOKIE, session.sid, **cookie)
        response.vary.add("Cookie")


def rotate() -> None:
    """A new session id from now on, the old one forgotten (at sign-in and at sign-out)."""
    session.rotate_id = True
    session.modified = True


def sign_in(person: people.PersonInfo) -> None:
    """A new session for `person`: nothing of the one before carries over, the CSRF token included (whoever
    knew the anonymous session knows nothing of this one)."""
    session.clear()
    session[PERSON] = person.id
    session[SIGNED_IN_AT] = utcnow().isoformat()
    rotate()


def sign_out() -> None:
    session.clear()
    rotate()


def init_sessions(app: Flask) -> None:
    app.session_interface = DatabaseSessions()

    @app.before_request
    def identify_person():
        """The person of a signed-in session is the caller of the page (a bearer token is the API's way)."""
        g.person = None
        if not is_page(request.path) or not isinstance(session, ServerSession) or PERSON not in session:
            return
        info = people.session_valid(context_of(app), session[PERSON], datetime.fromisoformat(session[SIGNED_IN_AT]))
        if info is None:
            sign_out()
            g.session_ended = True
            return
        g.person = info
        g.caller = info.caller()


def purge_expired(ctx) -> int:
    """Remove sessions idle past the timeout (the table would otherwise keep every abandoned session)."""
    settings = ctx.settings
    with ctx.db.write() as db:
        return db.execute(delete(models.WebSession).where(
            models.WebSession.last_seen_at < utcnow() - timedelta(seconds=settings.session_idle_timeout))).rowcount
