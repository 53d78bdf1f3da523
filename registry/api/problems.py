"""RFC 9457 problem+json for every error, from HTTP exceptions and from domain errors alike."""

from __future__ import annotations

import orjson
from flask import Response
from werkzeug.exceptions import HTTPException

from registry.auth.protection import www_authenticate
from registry.errors import PROBLEM_TYPE_BASE, Forbidden, Gone, RegistryError, Unauthenticated

CONTENT_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str | None = None, *, type_: str = "about:blank",
            headers=None, **extensions) -> Response:
    body = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return Response(orjson.dumps(body), status=status, headers=headers, content_type=CONTENT_TYPE)


def from_registry_error(error: RegistryError) -> Response:
    slug = "-".join(_words(type(error).__name__))
    headers = {}
    if isinstance(error, Unauthenticated | Forbidden):
        headers["WWW-Authenticate"] = www_authenticate(error, realm="registry")
    if isinstance(error, Gone):
        # The tombstone's ETag: a PUT with it brings the record back.
        headers["ETag"] = f'"{error.extensions["version"]}-deleted"'
    return problem(error.status, error.title, error.detail, type_=PROBLEM_TYPE_BASE + slug, headers=headers,
                   **error.extensions)


def from_http_exception(error: HTTPException) -> Response:
    """Werkzeug and webargs errors, keeping their headers (Allow on 405, ...)."""
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    data = getattr(error, "data", None) or {}
    if "messages" in data:
        return _invalid_arguments(data["messages"], headers)
    status = error.code or 500
    if status >= 500:
        # Never a stack trace or an internal message in the answer.
        return problem(status, error.name, "The registry failed to answer; the error has been logged.",
                       headers=headers)
    return problem(status, error.name, error.description, headers=headers)


def _invalid_arguments(messages: dict, headers) -> Response:
    """webargs validation errors: unknown parameters are a 400, bad values a 422."""
    # A body webargs could not read at all ({"json": ["Invalid JSON body."]}) has messages for no field.
    malformed = [str(m) for fields in messages.values() if isinstance(fields, list) for m in fields]
    if malformed:
        return problem(400, "Malformed body", " ".join(malformed), type_=PROBLEM_TYPE_BASE + "malformed-body",
                       headers=headers)
    errors, unknown = [], []
    for location, fields in messages.items():
        for name, field_messages in fields.items():
            if isinstance(field_messages, dict):
                field_messages = [str(m) for m in field_messages.values()]
            for message in field_messages:
                if message == "Unknown field." and location != "json":
                    unknown.append(name)
                else:
                    errors.append({"parameter": name, "message": str(message), "in": location})
    if errors:
        detail = "; ".join(f"{e['parameter']}: {e['message']}" for e in errors)
        return problem(422, "Invalid parameter", detail, type_=PROBLEM_TYPE_BASE + "invalid-parameter",
                       headers=headers, errors=errors)
    names = ", ".join(sorted(unknown))
    return problem(400, "Unknown parameter", f"Unknown parameter: {names}. See the API documentation for the "
                   "parameters this route accepts.", type_=PROBLEM_TYPE_BASE + "unknown-parameter",
                   headers=headers, errors=[{"parameter": n, "message": "unknown parameter"} for n in sorted(unknown)])


def _words(camel: str) -> list[str]:
    out, word = [], ""
    for char in camel:
        if char.isupper() and word:
            out.append(word.lower())
            word = ""
        word += char
    return [*out, word.lower()]
