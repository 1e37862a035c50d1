"""Where upload bytes live. Local disk by default; anything with the same three
methods (object storage, say) can replace it in ``app.extensions["storage"]``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app


class Storage(Protocol):
    def save(self, key: str, data: bytes) -> None: ...
    def load(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


class LocalStorage:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if "/" in key or key.startswith("."):
            raise ValueError("storage keys are flat names")
        return self.root / key[:2] / key

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # never a half-written file under the real name

    def load(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def init_storage(app: Flask) -> None:
    app.extensions["storage"] = LocalStorage(app.config["UPLOAD_DIR"])


def get_storage() -> Storage:
    return current_app.extensions["storage"]
