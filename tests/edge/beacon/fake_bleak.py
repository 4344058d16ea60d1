"""A bleak backend with no radio behind it, for driving the real `BleakScanner`.

`scripted_backend(script)` is a `BaseBleakScanner` subclass handed to
`BleakScanner(backend=…)`. It feeds real `BLEDevice`/`AdvertisementData` objects through
bleak's own callback registration, as the BlueZ backend does on D-Bus signals.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from edge.beacon.adstructures import parse_advertising_data


def bleak_data(raw: bytes, rssi: int) -> AdvertisementData:
    ad = parse_advertising_data(raw)
    return AdvertisementData(
        local_name=ad.local_name,
        manufacturer_data=ad.manufacturer_data,
        service_data=ad.service_data,
        service_uuids=ad.service_uuids,
        tx_power=ad.tx_power,
        rssi=rssi,
        platform_data=(),
    )


Script = list[tuple[str, AdvertisementData]]


def scripted_backend(script: Script, *, fail_starts: int = 0) -> type[Any]:
    """A fresh bleak backend class that plays `script` once per started scanner."""

    class Scripted(BaseBleakScanner):
        instances: ClassVar[list[Scripted]] = []
        failures_left: ClassVar[int] = fail_starts

        def __init__(
            self,
            detection_callback: Any,
            service_uuids: Any,
            scanning_mode: str,
            *,
            bluez: dict[str, Any],
            **kwargs: Any,
        ) -> None:
            super().__init__(detection_callback, service_uuids)
            self.scanning_mode, self.bluez, self.stopped = scanning_mode, bluez, False
            Scripted.instances.append(self)

        async def start(self) -> None:
            if Scripted.failures_left > 0:
                Scripted.failures_left -= 1
                raise BleakError("No Bluetooth adapters found.")
            self.task = asyncio.get_running_loop().create_task(self._play())

        async def _play(self) -> None:
            await asyncio.sleep(0)
            for address, data in script:  # all in one go, as a burst of D-Bus signals would
                device = self.create_or_update_device(address, address, None, None, data)
                self.call_detection_callbacks(device, data)

        async def stop(self) -> None:
            self.stopped = True
            self.task.cancel()

    return Scripted
