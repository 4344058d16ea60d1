from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from edge.rfid.reads import RawRead
from edge.rfid.sources import ReadLogError, ReplaySource, RowErrors, parse_csv, parse_jsonl
from storesense.errors import ConfigError
from tests.edge.rfid.noisy_log import DATA, write_csv

T0 = 1_764_151_200_000  # 2025-11-26T10:00:00Z
EPC = "3074257bf7194e4000001a85"
LOG = DATA / "noisy_fitting_rooms.jsonl"


def row(**fields: object) -> str:
    """A JSONL line: ts, epc and antenna defaulted, extra fields added, DROP leaves one out."""
    data = {"ts": T0, "epc": EPC, "antenna": 1, **fields}
    return json.dumps({key: value for key, value in data.items() if value is not DROP})


DROP = object()


def jsonl(*lines: str, on_error: str = "fail") -> tuple[list[RawRead], RowErrors]:
    errors = RowErrors("reads.jsonl", on_error)  # type: ignore[arg-type]
    return list(parse_jsonl([line.encode() for line in lines], errors)), errors


def csv_rows(*lines: str, on_error: str = "fail") -> tuple[list[RawRead], RowErrors]:
    errors = RowErrors("reads.csv", on_error)  # type: ignore[arg-type]
    return list(parse_csv([line + "\n" for line in lines], errors)), errors


def test_jsonl_rows_parse_with_either_time_form() -> None:
    reads, _ = jsonl(
        row(epc=EPC.upper(), rssi=-52.5),
        "",
        row(ts="2025-11-26T10:00:00.250Z", antenna=2, rssi=-60),
        row(ts="2025-11-26T18:00:00.500+08:00", antenna=3),
        row(ts=T0 + 1, antenna=4, rssi=None, channel=7),
    )
    assert reads == [
        RawRead(T0, EPC, 1, -52.5),  # EPC lowercased
        RawRead(T0 + 250, EPC, 2, -60.0),
        RawRead(T0 + 500, EPC, 3, None),  # offsets honoured, rssi optional
        RawRead(T0 + 1, EPC, 4, None),  # unknown fields ignored
    ]


def test_csv_rows_parse_in_any_column_order() -> None:
    reads, _ = csv_rows(
        "antenna,rssi,epc,ts,note",
        f"1,-52.5,{EPC},{T0},x",
        f"2,,{EPC},2025-11-26T10:00:00.250Z,",
        "",
        f"3, -61 ,{EPC.upper()},2025-11-26T11:00:00.5+01:00,y",
    )
    assert reads == [
        RawRead(T0, EPC, 1, -52.5),
        RawRead(T0 + 250, EPC, 2, None),
        RawRead(T0 + 500, EPC, 3, -61.0),
    ]


def test_csv_without_an_rssi_column() -> None:
    reads, _ = csv_rows("ts,epc,antenna", f"{T0},{EPC},1")
    assert reads == [RawRead(T0, EPC, 1, None)]


@pytest.mark.parametrize(
    ("line", "column", "complaint"),
    [
        ('{"ts": 1764151200000, "epc": "3074', None, "not valid JSON"),
        ("[1, 2]", None, "Expected `object`"),
        (row(epc=DROP), "epc", "is required"),
        (row(antenna="one"), "antenna", "expected `int`"),
        (row(antenna=-1), "antenna", "0-65535"),
        (row(epc="xyz"), "epc", "24-64 hex digits"),
        (row(epc="3074"), "epc", "24-64 hex digits"),
        (row(ts=1_764_151_200), "ts", "looks like seconds"),
        (row(ts="2025-11-26T10:00:00"), "ts", "offset"),
        (row(ts="yesterday"), "ts", "RFC3339"),
        (row(rssi="-50"), "rssi", "float"),
    ],
)
def test_bad_jsonl_rows_name_the_line_and_field(
    line: str, column: str | None, complaint: str
) -> None:
    with pytest.raises(ReadLogError, match=complaint) as caught:
        jsonl(row(), row(), line)
    assert caught.value.line == 3
    assert caught.value.column == column
    where = "reads.jsonl line 3" + (f", field `{column}`" if column else "")
    assert str(caught.value).startswith(where + ":"), str(caught.value)


@pytest.mark.parametrize(
    ("row", "column", "complaint"),
    [
        (f"{T0},{EPC}", None, "expected 4 cells"),
        (f"soon,{EPC},1,-50", "ts", "RFC 3339"),
        (f"2025-11-26T10:00:00,{EPC},1,-50", "ts", "offset"),
        (f"{T0},{EPC},one,-50", "antenna", "integer"),
        (f"{T0},{EPC},1,loud", "rssi", "number"),
        (f"{T0},{EPC},1,nan", "rssi", "finite"),
        (f"{T0},not-an-epc,1,-50", "epc", "hex digits"),
    ],
)
def test_bad_csv_rows_name_the_line_and_column(
    row: str, column: str | None, complaint: str
) -> None:
    with pytest.raises(ReadLogError, match=complaint) as caught:
        csv_rows("ts,epc,antenna,rssi", f"{T0},{EPC},1,-50", row)
    assert (caught.value.line, caught.value.column) == (3, column)
    assert str(caught.value).startswith("reads.csv line 3")


def test_csv_header_must_name_the_required_columns() -> None:
    with pytest.raises(ReadLogError, match="missing epc, antenna") as caught:
        csv_rows("ts,tag,ant", f"{T0},{EPC},1")
    assert caught.value.line == 1


def test_skip_mode_skips_and_counts_bad_rows(caplog: pytest.LogCaptureFixture) -> None:
    reads, errors = jsonl(row(), "{torn", row(), '{"ts": 5}', on_error="skip")
    assert reads == [RawRead(T0, EPC, 1, None)] * 2
    assert errors.count == 2
    assert "reads.jsonl line 2" in caplog.text and "reads.jsonl line 4" in caplog.text


def test_replay_reads_the_recorded_log_in_batches() -> None:
    source = ReplaySource(LOG, batch_size=100)
    batches = list(source.batches(threading.Event()))
    reads = [read for batch in batches for read in batch.reads]
    assert len(reads) == sum(1 for line in LOG.open() if line.strip())
    assert [len(b.reads) for b in batches[:-1]] == [100] * (len(batches) - 1)
    clock = 0
    for batch in batches:  # the clock never goes back and covers the batch's reads
        assert batch.now_ms >= clock
        assert all(read.ts_ms <= batch.now_ms for read in batch.reads)
        clock = batch.now_ms
    assert source.skipped == 0


def test_replay_clock_never_goes_back_with_out_of_order_reads(tmp_path: Path) -> None:
    path = tmp_path / "reads.jsonl"
    offsets = [0, 500, 900, 400, 1_000, 300]  # batches of two, each ending late
    path.write_text("".join(row(ts=T0 + offset) + "\n" for offset in offsets))
    batches = list(ReplaySource(path, batch_size=2).batches(threading.Event()))
    assert [b.now_ms - T0 for b in batches] == [500, 900, 1_000]


def test_replay_of_the_same_log_as_csv_gives_the_same_reads(tmp_path: Path) -> None:
    from_jsonl = [r for b in ReplaySource(LOG).batches(threading.Event()) for r in b.reads]
    path = tmp_path / "reads.csv"
    write_csv(from_jsonl, path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as spreadsheets save it: BOM
    from_csv = [r for b in ReplaySource(path).batches(threading.Event()) for r in b.reads]
    assert from_csv == from_jsonl


def test_replay_fails_on_a_bad_row_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "reads.jsonl"
    path.write_text(f'{{"ts": {T0}, "epc": "{EPC}", "antenna": 1}}\n{{"ts": {T0}}}\n')
    with pytest.raises(ReadLogError, match=f"{path} line 2, field `epc`: is required"):
        list(ReplaySource(path).batches(threading.Event()))


def test_replay_skip_mode_counts(tmp_path: Path) -> None:
    path = tmp_path / "reads.jsonl"
    path.write_text(f'{{"ts": {T0}, "epc": "{EPC}", "antenna": 1}}\n{{"ts": {T0}}}\n')
    source = ReplaySource(path, on_error="skip")
    assert sum(len(b.reads) for b in source.batches(threading.Event())) == 1
    assert source.skipped == 1


def test_replay_needs_a_known_format_and_an_existing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot tell the format"):
        ReplaySource(tmp_path / "reads.txt")
    assert ReplaySource(tmp_path / "reads.txt", format="csv").format == "csv"
    with pytest.raises(ConfigError, match="cannot open read log"):
        list(ReplaySource(tmp_path / "missing.jsonl").batches(threading.Event()))


def _span_log(tmp_path: Path, span_ms: int) -> Path:
    path = tmp_path / "reads.jsonl"
    rows = [(T0, 1), (T0 + span_ms // 2, 2), (T0 + span_ms, 3)]
    path.write_text("".join(f'{{"ts": {t}, "epc": "{EPC}", "antenna": {a}}}\n' for t, a in rows))
    return path


def test_paced_replay_keeps_the_recorded_pace(tmp_path: Path) -> None:
    path = _span_log(tmp_path, 2_000)
    started = time.monotonic()
    batches = list(ReplaySource(path, speed=4.0).batches(threading.Event()))
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 2.0  # 2 s recorded at 4x: 0.5 s
    assert [r.antenna for b in batches for r in b.reads] == [1, 2, 3]
    idle = [b.now_ms for b in batches if not b.reads]
    assert idle, "the replay clock is reported while waiting"
    assert all(T0 < now <= T0 + 2_000 for now in idle)
    assert [b.now_ms for b in batches] == sorted(b.now_ms for b in batches)


def test_paced_replay_stops_promptly(tmp_path: Path) -> None:
    path = _span_log(tmp_path, 600_000)  # ten minutes at real speed
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    reads = [r for b in ReplaySource(path, speed=1.0).batches(stop) for r in b.reads]
    assert time.monotonic() - started < 2.0
    assert [r.antenna for r in reads] == [1]


def test_unpaced_replay_stops_between_batches() -> None:
    stop = threading.Event()
    batches = ReplaySource(LOG, batch_size=10).batches(stop)
    next(batches)
    stop.set()
    assert list(batches) == []


def test_negative_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="speed"):
        ReplaySource(LOG, speed=-1)
