"""Sortable ids: a prefix naming the kind, then a ULID (48-bit milliseconds + 80 random bits).

Ids sort by creation time as plain strings, which keeps keyset pagination and indexes simple.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


def ulid(timestamp_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str, timestamp_ms: int | None = None) -> str:
    """A new id such as `cmp_01JD3V0W8Q6M4Y2C1B9T7X5N3K`."""
    return f"{prefix}_{ulid(timestamp_ms)}"
