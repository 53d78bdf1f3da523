"""Secrets this node must send or sign with, so cannot hash: the client secrets peers issued to it
and webhook signing secrets. They are encrypted (Fernet) with a key generated into the instance
folder at first use, so a copy of the database alone does not give them away."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.fernet import Fernet


class StoredSecrets:
    def __init__(self, instance_path: str | Path):
        self.path = Path(instance_path) / "keys" / "stored-secrets.key"

    def encrypt(self, secret: str) -> str:
        return self._fernet().encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet().decrypt(token.encode()).decode()

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
