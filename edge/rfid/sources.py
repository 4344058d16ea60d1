"""Read sources: a recorded raw-read log (JSONL or CSV) replayed from disk. The live LLRP
reader source is in `edge/rfid/llrp.py`.

A log has one read per line or row: `ts` (epoch milliseconds, or RFC 3339 with an offset),
`epc` (24-64 hex digits), `antenna` (integer), `rssi` (dBm, optional):

    {"ts": 1764151200123, "epc": "3074257bf7194e4000001a85", "antenna": 1, "rssi": -52.5}

    ts,epc,antenna,rssi
    2025-11-26T10:00:00.123Z,3074257bf7194e4000001a85,1,-52.5

Bad rows fail the replay by default with a ReadLogError naming the file, line and field;
with `on_error="skip"` they are skipped, logged and counted (`ReplaySource.skipped`) instead,
for logs with a torn last line or a reader's occasional garbage. JSONL fields not listed
above, and CSV columns other than these, are ignored. Reads may be slightly out of order;
the filter sorts that out (see edge/rfid/filter.py).
"""

from __future__ import annotations

import csv
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import msgspec

from edge.rfid.reads import RawRead, ReadBatch
from storesense.errors import ConfigError

log = logging.getLogger(__name__)

LogFormat = Literal["jsonl", "csv"]
OnError = Literal["fail", "skip"]
FORMATS_BY_SUFFIX: dict[str, LogFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
}
CSV_COLUMNS = ("ts", "epc", "antenna", "rssi")  # rssi optional

_EPC = re.compile(r"[0-9A-Fa-f]{24,64}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
# Below this an integer is surely epoch *seconds* (it would be 1973 in milliseconds).
_MIN_PLAUSIBLE_MS = 100_000_000_000
_MAX_PLAUSIBLE_MS = 7_258_118_400_000  # year 2200
_PACE_TICK_S = 0.2  # while pacing, report the replay clock at least this often


class ReadLogError(ConfigError):
    """A row of a raw-read log is invalid; the message names the file, line and field."""

    def __init__(self, message: str, *, line: int, column: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class _Row(msgspec.Struct):
    ts: int | datetime
    epc: str
    antenna: int
    rssi: float | None = None


_row_decoder = msgspec.json.Decoder(_Row)
_AT_FIELD = re.compile(r"^(?P<what>.*?) - at `\$\.(?P<field>[A-Za-z_]+)`$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")


def parse_jsonl(lines: Iterable[bytes], errors: RowErrors) -> Iterator[RawRead]:
    """Reads from JSONL lines (bytes); see the module docstring for the fields."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = _row_decoder.decode(line)
            read = RawRead(_ts(row.ts), _epc(row.epc), _antenna(row.antenna), _rssi(row.rssi))
        except msgspec.ValidationError as exc:
            errors.bad(number, *_explain(str(exc)))
            continue
        except msgspec.DecodeError as exc:
            errors.bad(number, None, f"not valid JSON: {exc}")
            continue
        except _BadValue as exc:
            errors.bad(number, exc.field, exc.reason)
            continue
        yield read


def parse_csv(lines: Iterable[str], errors: RowErrors) -> Iterator[RawRead]:
    """Reads from CSV lines (str, header row first); see the module docstring."""
    rows = csv.reader(lines)
    try:
        header = [cell.strip().lower() for cell in next(rows)]
    except StopIteration:
        return
    missing = [column for column in CSV_COLUMNS[:3] if column not in header]
    if missing:
        raise ReadLogError(
            f"{errors.name} line 1: header must name the columns ts, epc, antenna (and optionally "
            f"rssi); missing {', '.join(missing)}",
            line=1,
        )
    at_ts, at_epc, at_antenna = (header.index(c) for c in CSV_COLUMNS[:3])
    at_rssi = header.index("rssi") if "rssi" in header else None
    width = len(header)
    for cells in rows:
        number = rows.line_num
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) != width:
            errors.bad(number, None, f"expected {width} cells like the header, got {len(cells)}")
            continue
        try:
            read = RawRead(
                _ts(_csv_ts(cells[at_ts])),
                _epc(cells[at_epc].strip()),
                _antenna(_csv_int(cells[at_antenna], "antenna")),
                _rssi(_csv_float(cells[at_rssi], "rssi") if at_rssi is not None else None),
            )
        except _BadValue as exc:
            errors.bad(number, exc.field, exc.reason)
            continue
        yield read


def detect_format(path: Path) -> LogFormat:
    try:
        return FORMATS_BY_SUFFIX[path.suffix.lower()]
    except KeyError:
        raise ConfigError(
            f"cannot tell the format of read log {path} from its extension; name it .jsonl "
            "or .csv, or set the source's `format` (jsonl or csv)"
        ) from None


class ReplaySource:
    """Replays a raw-read log. `speed` 0 delivers as fast as the agent takes reads; 1 keeps
    the recorded pace (2 twice as fast). Batches carry recorded time as their clock."""

    def __init__(
        self,
        path: str | Path,
        *,
        format: LogFormat | None = None,
        speed: float = 0.0,
        on_error: OnError = "fail",
        batch_size: int = 1000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.path = Path(path)
        self.format = format or detect_format(self.path)
        self.speed = speed
        self.on_error: OnError = on_error
        self.batch_size = batch_size
        self._monotonic = monotonic
        self.errors = RowErrors(str(self.path), on_error)

    @property
    def skipped(self) -> int:
        """Bad rows skipped (with `on_error="skip"`) in the last replay."""
        return self.errors.count

    def batches(self, stop: threading.Event) -> Iterator[ReadBatch]:
        try:
            handle = (
                self.path.open("rb")
                if self.format == "jsonl"
                else self.path.open(encoding="utf-8-sig", newline="")
            )
        except OSError as exc:
            raise ConfigError(f"cannot open read log {self.path}: {exc.strerror or exc}") from None
        self.errors = RowErrors(str(self.path), self.on_error)
        with handle:
            reads = (
                parse_jsonl(handle, self.errors)  # type: ignore[arg-type]
                if self.format == "jsonl"
                else parse_csv(handle, self.errors)  # type: ignore[arg-type]
            )
            if self.speed > 0:
                yield from self._paced(reads, stop)
            else:
                yield from self._unpaced(reads, stop)
        if self.skipped:
            log.warning(
                "read log replayed with bad rows skipped path=%s skipped=%d",
                self.path,
                self.skipped,
            )

    def _unpaced(self, reads: Iterator[RawRead], stop: threading.Event) -> Iterator[ReadBatch]:
        batch: list[RawRead] = []
        clock = 0
        for read in reads:
            batch.append(read)
            if read.ts_ms > clock:
                clock = read.ts_ms
            if len(batch) >= self.batch_size:
                yield ReadBatch(batch, clock)
                batch = []
                if stop.is_set():
                    return
        if batch and not stop.is_set():
            yield ReadBatch(batch, clock)

    def _paced(self, reads: Iterator[RawRead], stop: threading.Event) -> Iterator[ReadBatch]:
        batch: list[RawRead] = []
        clock = 0
        start: tuple[int, float] | None = None  # (first recorded ts, monotonic then)
        for read in reads:
            if start is None:
                start = (read.ts_ms, self._monotonic())
            due = start[1] + (read.ts_ms - start[0]) / 1000 / self.speed
            while (wait := due - self._monotonic()) > 0:
                if batch:
                    yield ReadBatch(batch, clock)
                    batch = []
                if stop.wait(min(wait, _PACE_TICK_S)):
                    return
                # Recorded time has moved on with no reads: say so (never past the next read).
                replayed = start[0] + int((self._monotonic() - start[1]) * self.speed * 1000)
                clock = max(clock, min(replayed, read.ts_ms))
                yield ReadBatch((), clock)
            batch.append(read)
            if read.ts_ms > clock:
                clock = read.ts_ms
            if len(batch) >= self.batch_size:
                yield ReadBatch(batch, clock)
                batch = []
            if stop.is_set():
                return
        if batch:
            yield ReadBatch(batch, clock)


class _BadValue(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


class RowErrors:
    """What to do with a bad row: fail (ReadLogError), or log and count it."""

    def __init__(self, name: str, on_error: OnError) -> None:
        self.name = name
        self.on_error = on_error
        self.count = 0

    def bad(self, line: int, field: str | None, reason: str) -> None:
        where = f"{self.name} line {line}" + (f", field `{field}`" if field else "")
        if self.on_error == "fail":
            raise ReadLogError(f"{where}: {reason}", line=line, column=field)
        self.count += 1
        log.warning("skipping bad read %s: %s", where, reason)


def _explain(error: str) -> tuple[str | None, str]:
    """msgspec's "Expected `int`, got `str` - at `$.antenna`" as ("antenna", "expected …")."""
    missing = _MISSING.match(error)
    if missing:
        return missing["field"], "is required"
    match = _AT_FIELD.match(error)
    if match:
        what = match["what"]
        return match["field"], what[:1].lower() + what[1:]
    return None, error


def _ts(value: int | datetime) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _BadValue(
                "ts", f"RFC 3339 time needs an offset such as Z, got {value.isoformat()}"
            )
        return (value - _EPOCH) // _ONE_MS
    if not _MIN_PLAUSIBLE_MS <= value <= _MAX_PLAUSIBLE_MS:
        hint = " (it looks like seconds)" if 0 < value < _MIN_PLAUSIBLE_MS else ""
        raise _BadValue("ts", f"must be epoch milliseconds, got {value}{hint}")
    return value


def _epc(value: str) -> str:
    if _EPC.fullmatch(value) is None:
        raise _BadValue("epc", f"must be 24-64 hex digits, got {value[:80]!r}")
    return value.lower()


def _antenna(value: int) -> int:
    if not 0 <= value <= 65_535:
        raise _BadValue("antenna", f"must be 0-65535, got {value}")
    return value


def _rssi(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise _BadValue("rssi", f"must be a finite number of dBm, got {value}")
    return value


def _csv_ts(cell: str) -> int | datetime:
    text = cell.strip()
    if text.isdigit() and text.isascii():
        return int(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise _BadValue(
            "ts", f"expected epoch milliseconds or RFC 3339 time, got {text[:80]!r}"
        ) from None


def _csv_int(cell: str, field: str) -> int:
    try:
        return int(cell.strip())
    except ValueError:
        raise _BadValue(field, f"expected an integer, got {cell[:80]!r}") from None


def _csv_float(cell: str, field: str) -> float | None:
    text = cell.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise _BadValue(field, f"expected a number, got {cell[:80]!r}") from None
