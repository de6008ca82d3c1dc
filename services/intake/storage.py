"""Evidence files stored behind a small storage interface (what a file may be: `evidence_files`)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Protocol


class EvidenceStorage(Protocol):
    async def save(self, key: str, content: bytes) -> None: ...
    async def load(self, key: str) -> bytes: ...


class DiskStorage:
    """Files under a directory (var/evidence by default); keys are relative paths."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("storage key escapes the storage root")
        return path

    async def save(self, key: str, content: bytes) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(content)
            tmp.replace(path)

        await asyncio.to_thread(write)

    async def load(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
