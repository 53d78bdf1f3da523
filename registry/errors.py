"""Domain errors raised by services; the API turns each into an RFC 9457 problem."""

from __future__ import annotations

# Every problem's `type` is this URI plus a slug of the error ("invalid-record", "oauth-invalid-scope").
PROBLEM_TYPE_BASE = "https://contact-point-registry.example.org/problems/"


class RegistryError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extensions):
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class MalformedBody(RegistryError):
    status = 400
    title = "Malformed body"


class NestedTooDeep(RegistryError):
    """A request body whose objects and arrays nest deeper than any the registry takes."""

    status = 413
    title = "Body nested too deep"


class UnsupportedMediaType(RegistryError):
    status = 415
    title = "Unsupported media type"


class NotFound(RegistryError):
    status = 404
    title = "Not found"


class InvalidParameter(RegistryError):
    """A query parameter with a value outside what the route accepts."""

    status = 422
    title = "Invalid parameter"

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}", errors=[{"parameter": parameter, "message": message}])


class UnknownParameter(RegistryError):
    """Query parameters the route does not take, each with the closest one it does when there is one."""

    status = 400
    title = "Unknown parameter"

    def __init__(self, unknown: dict[str, str | None]):
        named = ", ".join(f"{name} (did you mean {close}?)" if close else name
                          for name, close in sorted(unknown.items()))
        errors = [{"parameter": name, "message": "unknown parameter",
                   **({"suggestions": [{"code": close, "name": close}]} if close else {})}
                  for name, close in sorted(unknown.items())]
        super().__init__(f"Unknown parameter: {named}. See the API documentation for the parameters this route "
                         "accepts.", errors=errors)


class RepeatedParameter(RegistryError):
    """A parameter that takes one value, given several times: which one was meant is not for us to guess."""

    status = 400
    title = "Repeated parameter"

    def __init__(self, parameter: str, count: int):
        message = f"given {count} times; it takes one value"
        super().__init__(f"{parameter}: {message}.", errors=[{"parameter": parameter, "message": message}])


class InvalidRecord(RegistryError):
    """A record body that breaks its schema, the taxonomies or a reference."""

    status = 422
    title = "Invalid record"

    def __init__(self, detail: str, errors: list[dict]):
        super().__init__(detail, errors=errors)


class UnknownValue(RegistryError):
    """A filter value no resolver recognizes; carries the closest known values."""

    status = 422
    title = "Unknown value"

    def __init__(self, parameter: str, value: str, kind: str, suggestions: list[dict]):
        hint = ""
        if suggestions:
            hint = " Did you mean " + ", ".join(f"{s['code']} ({s['name']})" for s in suggestions) + "?"
        super().__init__(
            f"{parameter}: {value!r} is not a known {kind}.{hint}",
            errors=[{"parameter": parameter, "value": value, "suggestions": suggestions}],
        )


class Unauthenticated(RegistryError):
    """No valid access token where one is needed; answered with `WWW-Authenticate: Bearer`."""

    status = 401
    title = "Authentication required"

    def __init__(self, detail: str, *, error: str | None = None):
        # `error` is the RFC 6750 code for a token that was sent but is not valid.
        super().__init__(detail)
        self.error = error


class Forbidden(RegistryError):
    """A valid token without the scope an action needs (RFC 6750 `insufficient_scope`)."""

    status = 403
    title = "Insufficient scope"

    def __init__(self, detail: str, *, scope: str):
        super().__init__(detail, scope=scope)
        self.scope = scope


class Conflict(RegistryError):
    status = 409
    title = "Conflict"


class ForeignRecord(Conflict):
    """A write to a copy of a record whose origin is another node."""

    title = "Record of another origin"

    def __init__(self, record_id: str, origin: str):
        super().__init__(f"{record_id} is published by the node {origin!r}; this node holds a read-only copy. "
                         f"Publish the change at {origin!r}.", origin=origin)


class Gone(RegistryError):
    """A deleted record: its tombstone tells when and by whom."""

    status = 410
    title = "Deleted"


class PreconditionFailed(RegistryError):
    status = 412
    title = "Precondition failed"


class PreconditionRequired(RegistryError):
    status = 428
    title = "Precondition required"


class SearchUnavailable(RegistryError):
    """The search server cannot answer (down, or its index not built yet)."""

    status = 503
    title = "Search unavailable"


class CursorGone(RegistryError):
    """A feed cursor older than the log this node keeps: the consumer bootstraps from the snapshot."""

    status = 410
    title = "Cursor too old"


class UpstreamFailed(RegistryError):
    """Another node (a peer, an origin's JWKS) could not be reached or gave an unusable answer."""

    status = 502
    title = "Upstream node failed"
