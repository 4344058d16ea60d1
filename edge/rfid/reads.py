"""What flows from a read source into the presence filter: raw reads, in batches."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import NamedTuple, Protocol


class RawRead(NamedTuple):
    """One tag read by one antenna. `epc` is lowercase hex (sources normalise it)."""

    ts_ms: int
    epc: str
    antenna: int
    rssi: float | None  # dBm; None when the reader does not report it


class ReadBatch(NamedTuple):
    """Reads in time order, and the source's clock once they were taken.

    `now_ms` lets the filter time tags out while no reads arrive; it is never earlier than
    the reads in the batch, and for a recording it is recorded time, not wall time.
    """

    reads: Sequence[RawRead]
    now_ms: int


class ReadSource(Protocol):
    def batches(self, stop: threading.Event) -> Iterator[ReadBatch]:
        """Yield batches until `stop` is set or the source ends; empty batches mark time."""
        ...
