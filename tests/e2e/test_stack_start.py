"""The whole stack's start-up failures are errors that name the setting, never a process exit."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import storesense.stack
from storesense.backends.broker.embedded import check_port_free
from storesense.errors import PortInUse
from storesense.stack import running_stack
from tests.e2e.helpers import stack_settings


async def test_the_api_port_taken_after_the_check_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race CI met: the port was free when checked and taken when uvicorn bound it, and
    # uvicorn's sys.exit ended the test process's run. The first check passes here as it
    # did there; a listener holds the port all along.
    checks: list[str] = []

    def first_check_passes(host: str, port: int, what: str, setting: str) -> None:
        checks.append(what)
        if checks.count("the API") > 1:
            check_port_free(host, port, what, setting)

    monkeypatch.setattr(storesense.stack, "check_port_free", first_check_passes)
    settings = stack_settings(tmp_path)
    with socket.socket() as holder:
        holder.bind((settings.api.host, settings.api.port))
        holder.listen()
        with pytest.raises(BaseExceptionGroup) as caught:  # as the CLI reports them
            async with running_stack(settings):
                pytest.fail("the stack started on a taken port")
    where = f"cannot listen on {settings.api.host}:{settings.api.port}"
    assert caught.group_contains(PortInUse, match=f"{where}.*STORESENSE_API__PORT")
    assert checks.count("the API") == 2
