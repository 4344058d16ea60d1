"""Choose the state backend from settings."""

from storesense.backends.state.base import StateStore
from storesense.backends.state.memory import MemoryState
from storesense.backends.state.redis import RedisState
from storesense.settings import Settings


def open_state(settings: Settings) -> StateStore:
    """Redis when `state.redis_url` is set, else in-process memory."""
    if settings.state.redis_url:
        return RedisState(settings.state.redis_url, prefix=settings.state.key_prefix)
    return MemoryState()
