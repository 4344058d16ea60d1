"""Device registration and provisioning: registering a device issues its MQTT credentials
(the password is in that answer only) and publishes its agent config, retained, on
`{root}/v1/{store}/{device}/config`. The registry also exports a Mosquitto password file
and ACL so that a real broker enforces those credentials."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from fastapi.responses import PlainTextResponse

from api.context import ApiContext, get_context
from api.defs.devices import DeviceOut, ProvisionedOut
from api.registry_http import registry_errors
from storesense.protocol.identifiers import IDENTIFIER_PATTERN
from storesense.protocol.topics import Topics
from storesense.registry import mosquitto
from storesense.registry.devices import DeviceBody, DeviceKind, DeviceRegistration
from storesense.registry.provisioning import Provisioner, devices
from storesense.registry.stores import stores

router = APIRouter(prefix="/api/v1", tags=["devices"])

Context = Annotated[ApiContext, Depends(get_context)]
StoreId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
DeviceId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
_MISSING: dict[int | str, dict[str, Any]] = {404: {"description": "unknown store or device"}}


def _provisioner(context: ApiContext) -> Provisioner:
    return Provisioner(context.state, Topics(context.settings.topic_root), context.link.publish)


def check_agent_config(kind: DeviceKind, config: Mapping[str, Any]) -> None:
    """Validate a config with the agent's own parser (what the device will run); 422 names
    the key. Empty configs and POS devices (no agent) pass."""
    if not config or kind == "pos":
        return
    parse: Callable[[Mapping[str, Any]], object]
    if kind == "rfid":
        from edge.rfid.config import parse_config as parse_rfid

        def parse(section: Mapping[str, Any]) -> object:
            return parse_rfid(section, require_source=False)  # the agent keeps its reader
    elif kind == "beacon":
        from edge.beacon.config import parse_config as parse
    else:
        from edge.door.config import parse_config as parse
    try:
        parse(config)
    except Exception as exc:  # whatever the agent would refuse, the client hears why
        raise HTTPException(422, {"field": "config", "message": str(exc)}) from None


@router.get("/stores/{store}/devices", response_model=list[DeviceOut], responses=_MISSING)
async def list_devices(store: StoreId, context: Context) -> list[DeviceOut]:
    with registry_errors():
        await stores(context.state).require(store)
    return [DeviceOut.of(d) for d in await devices(context.state).list(store)]


@router.post(
    "/stores/{store}/devices", response_model=ProvisionedOut, status_code=201,
    responses={**_MISSING, 409: {"description": "the device id is taken in this store"}},
    summary="Register a device: issues its MQTT credentials (shown once) and publishes its "
    "config, retained",
)  # fmt: skip
async def register_device(
    store: StoreId, body: DeviceRegistration, context: Context
) -> ProvisionedOut:
    check_agent_config(body.kind, body.config)
    with registry_errors():
        return ProvisionedOut.of(await _provisioner(context).register(store, body))


@router.get("/stores/{store}/devices/{device}", response_model=DeviceOut, responses=_MISSING)
async def get_device(store: StoreId, device: DeviceId, context: Context) -> DeviceOut:
    with registry_errors():
        return DeviceOut.of(await devices(context.state).require(store, device))


@router.put(
    "/stores/{store}/devices/{device}", response_model=ProvisionedOut, responses=_MISSING,
    summary="Change a device's kind, zone, name or config; republishes its config",
)  # fmt: skip
async def update_device(
    store: StoreId, device: DeviceId, body: DeviceBody, context: Context
) -> ProvisionedOut:
    check_agent_config(body.kind, body.config)
    with registry_errors():
        return ProvisionedOut.of(await _provisioner(context).update(store, device, body))


@router.post(
    "/stores/{store}/devices/{device}/credentials", response_model=ProvisionedOut,
    responses=_MISSING,
    summary="Issue a new MQTT password (the broker enforces it after the files are reloaded)",
)  # fmt: skip
async def rotate_credentials(store: StoreId, device: DeviceId, context: Context) -> ProvisionedOut:
    with registry_errors():
        return ProvisionedOut.of(await _provisioner(context).rotate(store, device))


@router.delete("/stores/{store}/devices/{device}", status_code=204, responses=_MISSING)
async def delete_device(store: StoreId, device: DeviceId, context: Context) -> Response:
    with registry_errors():
        await _provisioner(context).delete(store, device)
    return Response(status_code=204)


@router.get(
    "/devices/mosquitto/passwd", response_class=PlainTextResponse,
    summary="Mosquitto password file of every registered device (hashes only)",
)  # fmt: skip
async def mosquitto_passwd(context: Context) -> PlainTextResponse:
    return PlainTextResponse(mosquitto.password_file(await devices(context.state).list()))


@router.get(
    "/devices/mosquitto/acl", response_class=PlainTextResponse,
    summary="Mosquitto ACL: each device publishes its own events/status and reads its config",
)  # fmt: skip
async def mosquitto_acl(context: Context) -> PlainTextResponse:
    service = context.settings.broker.endpoint().username
    text = mosquitto.acl_file(
        await devices(context.state).list(),
        context.settings.topic_root,
        [service] if service else [],
    )
    return PlainTextResponse(text)
