"""Live state: `memory` (embedded default) and `redis` (shared by workers)."""

from storesense.backends.state.base import DeviceRecord, EventKey, StateStore
from storesense.backends.state.factory import open_state

__all__ = ["DeviceRecord", "EventKey", "StateStore", "open_state"]
