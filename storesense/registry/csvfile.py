"""All-or-nothing CSV imports: every problem listed by line and column, nothing imported
when there is one."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from storesense.errors import ConfigError

T = TypeVar("T")


class ImportProblems(ConfigError):
    """The CSV has problems; `problems` lists each as 'line N, column `c`: …'."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = problems[:20]
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)
        self.problems = problems


class Row:
    """One CSV row being read: cells by column, and complaints recorded against it."""

    def __init__(self, cells: dict[str | None, str | None], line: int, problems: list[str]):
        self._cells = cells
        self.line = line
        self._problems = problems
        self._before = len(problems)

    def cell(self, column: str) -> str:
        return (self._cells.get(column) or "").strip()

    def bad(self, column: str, why: str) -> None:
        self._problems.append(f"line {self.line}, column `{column}`: {why}")

    @property
    def ok(self) -> bool:
        return len(self._problems) == self._before


def parse_csv(
    text: str,
    source: str,
    columns: Sequence[str],
    parse_row: Callable[[Row], T | None],
    key: Callable[[T], str],
    key_column: str,
) -> list[T]:
    """Parse rows with `parse_row` (which records problems on the Row); raise
    ImportProblems listing them all, including repeated keys."""
    # newline="": line breaks are the csv module's to read (\r\n, \r, in quoted cells).
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ImportProblems(source, [f"line 1: {exc}"]) from None
    missing = [column for column in columns if column not in header]
    if missing:
        raise ImportProblems(
            source, [f"line 1: missing column(s) {', '.join(missing)}; need {','.join(columns)}"]
        )
    reader.fieldnames = header
    records: list[T] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(_readable(reader, problems), start=2):
        row = Row(cells, line, problems)
        record = parse_row(row)
        if record is None or not row.ok:
            continue
        if key(record) in seen:
            row.bad(key_column, f"{key(record)!r} repeats line {seen[key(record)]}")
            continue
        seen[key(record)] = line
        records.append(record)
    if problems:
        raise ImportProblems(source, problems)
    return records


def _readable(
    reader: csv.DictReader[str], problems: list[str]
) -> Iterator[dict[str | None, str | None]]:
    """The reader's rows up to one the csv module cannot read (a cell over its size
    limit), which is recorded as a problem."""
    line = 2  # the header is line 1; lines are counted in rows, as parse_csv does
    try:
        for row in reader:
            yield row
            line += 1
    except csv.Error as exc:
        problems.append(f"line {line}: {exc}")


def split_list(cell: str) -> tuple[str, ...]:
    """`a;b;c` cells, blanks dropped."""
    return tuple(part.strip() for part in cell.split(";") if part.strip())
