"""What routes need, passed in when the app is built (no module-level singletons)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from prometheus_client import CollectorRegistry

from api.live import AlertHub
from storesense.backends.state.base import StateStore
from storesense.mqtt import MqttLink
from storesense.settings import Settings


@dataclass
class ApiContext:
    settings: Settings
    state: StateStore
    hub: AlertHub
    registry: CollectorRegistry
    link: MqttLink


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context
