"""Settings of a private stack on the session's real Mosquitto and Redis, isolated by a
random key prefix and topic root."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from storesense.settings import Settings
from tests.e2e.helpers import stack_settings
from tests.servers import Mosquitto, Redis


def real_stack_settings(
    tmp_path: Path, mosquitto: Mosquitto, redis_server: Redis, **overrides: Any
) -> Settings:
    return stack_settings(
        tmp_path,
        broker={"url": mosquitto.url},
        state={"redis_url": redis_server.url, "key_prefix": f"t{uuid.uuid4().hex[:8]}"},
        topic_root=f"r{uuid.uuid4().hex[:8]}",
        **overrides,
    )
