"""JSON responses for msgspec models (the wire models are msgspec Structs)."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import Response

_encoder = msgspec.json.Encoder()


def json_response(value: Any, status_code: int = 200) -> Response:
    return Response(_encoder.encode(value), status_code=status_code, media_type="application/json")
