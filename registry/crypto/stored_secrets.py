"""Secrets this node must send or sign with, so cannot hash: the client secrets peers issued to it
and webhook signing secrets. They are encrypted (Fernet) with a key generated into the instance
folder at first use, so a copy of the database alone does not give them away."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class StoredSecrets:
    def __init__(self, instance_path: str | Path):
        self.path = Path(instance_path) / "keys" / "stored-secrets.key"

    def encrypt(self, secret: str) -> str:
        return self._fernet().encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet().decrypt(token.encode()).decode()

    def derived_key(self, purpose: str, length: int = 32) -> bytes:
        """A key for one purpose (sealing feed cursors...), derived from the instance key with HKDF: one
        secret to back up, and no purpose's key tells anything of another's."""
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode()).derive(
            self._key())

    def _key(self) -> bytes:
        self._fernet()
        return self.path.read_bytes().strip()

    def _fernet(self) -> Fernet:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            draft = self.path.with_suffix(f".{os.getpid()}")
            draft.write_bytes(Fernet.generate_key())
            draft.chmod(0o600)
            # A hard link appears whole or not at all: of two processes starting together, one key wins.
            with contextlib.suppress(FileExistsError):
                os.link(draft, self.path)
            draft.unlink()
        return Fernet(self.path.read_bytes().strip())
