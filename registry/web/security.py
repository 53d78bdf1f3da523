"""Headers every page carries: the browser may load nothing but the registry's own files, run no inline
script or style, and show the page in no frame; links leave no more than the origin behind."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
                           "object-src 'none'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def is_page(path: str) -> bool:
    """The API, OAuth and well-known documents answer machines and set their own headers."""
    return not path.startswith(("/api/", "/oauth/", "/.well-known/"))


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        if is_page(request.path):
            for name, value in HEADERS.items():
                response.headers.setdefault(name, value)
            if response.mimetype == "text/html":
                # Pages depend on the language cookie and the caller; a shared cache must not keep them.
                response.headers.setdefault("Cache-Control", "private, no-cache")
                response.vary.add("Cookie")
                response.vary.add("Accept-Language")
        return response


def init_csrf(app: Flask) -> None:
    """Every form a page posts carries a token bound to the session (Flask-WTF); a POST without the right one
    changes nothing and gets a page saying to reload the form. The API is not concerned: it takes no cookies.
    Also sets what signs the tokens and the sign-in throttle the account pages share."""
    from registry.api import context_of
    from registry.auth.sign_in import SignInThrottle

    ctx = context_of(app)
    app.config.update(SECRET_KEY=ctx.secrets.derived_key("page sessions").hex(), WTF_CSRF_CHECK_DEFAULT=False,
                      WTF_CSRF_TIME_LIMIT=None)
    csrf = CSRFProtect(app)
    app.extensions["sign_in_throttle"] = SignInThrottle.of(ctx)

    @app.before_request
    def check_csrf():
        if request.method == "POST" and is_page(request.path):
            csrf.protect()

    @app.errorhandler(CSRFError)
    def refused(error: CSRFError):
        return render_template("error.html", status=400), 400
