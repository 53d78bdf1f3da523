"""RFC 8785 canonical JSON (JCS), the bytes that envelopes and checkpoints sign and hash.

`rfc8785` is the reference: it is exact for every JSON value, but it is written in Python and costs
about 0.1 ms per record body. For the values records are made of (strings, integers within ±2^53,
booleans, null, objects and arrays) orjson with sorted keys writes the very same bytes: no
whitespace, the same string escapes (`\\b \\t \\n \\f \\r`, other control characters as `\\u00xx`,
everything else as UTF-8), integers in plain decimal. It differs only where RFC 8785 says more:
floating-point numbers (ECMAScript formatting), integers beyond ±2^53 (refused), keys outside the Basic
Multilingual Plane (sorted by UTF-16 code units, not code points) and lone surrogates. A value holding
any of those is written by `rfc8785`, so the output is RFC 8785's in every case.
"""

from __future__ import annotations

import orjson
import rfc8785

# The largest integer RFC 8785 (IEEE 754 doubles) writes exactly.
_MAX_SAFE_INTEGER = 2**53 - 1


def dumps(value) -> bytes:
    """The canonical JSON of `value`, as `rfc8785.dumps` writes it (and raising what it raises)."""
    if _plain(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # a lone surrogate: rfc8785 says what is wrong with it
            pass
    return rfc8785.dumps(value)


def _plain(value) -> bool:
    """Whether orjson's sorted output of `value` is its canonical form (see the module's docstring)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) <= "\uffff") or not _plain(item):
                return False
        return True
    if kind is list:
        return all(_plain(item) for item in value)
    return False
