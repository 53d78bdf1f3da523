"""Domain errors raised by services; the API turns each into an RFC 9457 problem."""

from __future__ import annotations


class RegistryError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extensions):
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFound(RegistryError):
    status = 404
    title = "Not found"


class InvalidParameter(RegistryError):
    """A query parameter with a value outside what the route accepts."""

    status = 422
    title = "Invalid parameter"

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}", errors=[{"parameter": parameter, "message": message}])


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
