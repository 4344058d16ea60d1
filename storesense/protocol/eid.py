"""Rotating member app IDs (ARCHITECTURE.md section 2).

`eid = hex(HMAC-SHA256(key, uint64_be(floor(unix_seconds / 900)))[:8])`: 16 hex digits that
change every 15 minutes, so only the key holder can link sightings of one phone.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

WINDOW_SECONDS = 900
KEY_LENGTHS = (16, 32)


def window_of(unix_seconds: float) -> int:
    """The 15-minute window number a moment falls in."""
    return int(unix_seconds // WINDOW_SECONDS)


def eid_for_window(key: bytes, window: int) -> str:
    """The 16-hex-digit rotating ID a key advertises during `window`."""
    digest = hmac.new(key, struct.pack(">Q", window), hashlib.sha256).digest()
    return digest[:8].hex()


def eid_at(key: bytes, unix_seconds: float) -> str:
    return eid_for_window(key, window_of(unix_seconds))


def parse_app_key(text: str) -> bytes:
    """Decode a hex app key; raise ValueError unless it is 16 or 32 bytes."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError(f"app_key must be hex, got {text[:80]!r}") from None
    if len(key) not in KEY_LENGTHS:
        raise ValueError(f"app_key must be 16 or 32 bytes (32 or 64 hex digits), got {len(key)}")
    return key
