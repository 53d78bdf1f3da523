"""Headers every page carries: the browser may load nothing but the registry's own files, run no inline
script or style, and show the page in no frame; links leave no more than the origin behind."""

from __future__ import annotations

from flask import Flask, request

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
