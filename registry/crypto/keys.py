"""Signing keys kept in the instance folder: generated at first start, rotated on demand.

A key set lives in one JSON file (private JWKs, the current key id, and when each older key was
retired). Rotation makes a new key current; a retired key stays published, and keeps verifying,
for `grace` seconds (the longest a token signed with it can live), then is dropped. Every process
re-reads the file when it changes, so `registry keys rotate` takes effect in running workers.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey, KeySet, OKPKey

GENERATORS = {
    "ES256": lambda: ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"}, private=True),
    # EdDSA with Ed25519, named by its fully-specified algorithm identifier (RFC 9864).
    "Ed25519": lambda: OKPKey.generate_key("Ed25519", parameters={"alg": "Ed25519", "use": "sig"}, private=True),
}


@dataclass(frozen=True)
class _Loaded:
    stamp: tuple[int, int]
    current: str
    keys: KeySet
    retired: dict[str, float]


class KeyStore:
    def __init__(self, path: str | Path, alg: str, grace: float):
        self.path = Path(path)
        self.alg = alg
        self.grace = grace
        self._loaded: _Loaded | None = None

    # -- reading ---------------------------------------------------------------------------------

    def signing_keys(self) -> KeySet:
        """A key set holding only the current key, so that the signer names it in `kid`."""
        state = self._state()
        return KeySet([state.keys.get_by_kid(state.current)])

    def verification_keys(self) -> KeySet:
        """The current key and the retired keys still within their grace period."""
        state = self._state()
        now = time.time()
        return KeySet([k for k in state.keys if state.retired.get(k.kid, now + 1) + self.grace > now])

    def jwks(self) -> dict:
        return self.verification_keys().as_dict(private=False)

    @property
    def current_kid(self) -> str:
        return self._state().current

    def _state(self) -> _Loaded:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self.ensure()
            stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._loaded is None or self._loaded.stamp != stamp:
            data = json.loads(self.path.read_text())
            self._loaded = _Loaded(stamp, data["current"], KeySet.import_key_set({"keys": data["keys"]}),
                                   {kid: float(at) for kid, at in data.get("retired", {}).items()})
        return self._loaded

    # -- writing ---------------------------------------------------------------------------------

    def ensure(self) -> None:
        """Generate the first key if there is none (safe when several workers start at once)."""
        with self._locked():
            if not self.path.exists():
                key = self._new_key()
                self._write({"current": key["kid"], "keys": [key], "retired": {}})

    def rotate(self) -> tuple[str, str]:
        """Make a new key current; returns (retired kid, new kid)."""
        with self._locked():
            data = json.loads(self.path.read_text()) if self.path.exists() else None
            key = self._new_key()
            if data is None:
                self._write({"current": key["kid"], "keys": [key], "retired": {}})
                return "", key["kid"]
            now = time.time()
            old = data["current"]
            retired = {kid: at for kid, at in data.get("retired", {}).items() if at + self.grace > now}
            retired[old] = now
            keys = [k for k in data["keys"] if k["kid"] == old or k["kid"] in retired]
            self._write({"current": key["kid"], "keys": [*keys, key], "retired": retired})
            return old, key["kid"]

    def _new_key(self) -> dict:
        key = GENERATORS[self.alg]()
        key.ensure_kid()
        return key.as_dict(private=True)

    def _write(self, data: dict) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=1)
        os.replace(tmp, self.path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
