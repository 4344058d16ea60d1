"""Build the InfluxQL statements the Influx store sends, with every name and value quoted.

Identifiers are double-quoted and string literals single-quoted; inside both, InfluxQL's
scanner understands `\\\\`, `\\"`, `\\'` and `\\n`, and refuses a raw newline, so those are the
escapes used. Time bounds are integer nanoseconds; tag conditions use `::tag` so that a field
of the same name can never be matched instead.
"""

from __future__ import annotations

from collections.abc import Mapping

_IDENT_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n"})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", "\n": "\\n"})


def quote_ident(name: str) -> str:
    return f'"{name.translate(_IDENT_ESCAPES)}"'


def quote_string(value: str) -> str:
    return f"'{value.translate(_STRING_ESCAPES)}'"


def where(start_ns: int, end_ns: int, tags: Mapping[str, str] | None = None) -> str:
    """`WHERE` clause for the half-open range [start_ns, end_ns) and exact tag values."""
    conditions = [f"time >= {int(start_ns)}", f"time < {int(end_ns)}"]
    for key in sorted(tags or {}):
        conditions.append(f"{quote_ident(key)}::tag = {quote_string((tags or {})[key])}")
    return "WHERE " + " AND ".join(conditions)


def select_points(
    measurement: str,
    *,
    start_ns: int,
    end_ns: int,
    tags: Mapping[str, str] | None = None,
    limit: int | None = None,
) -> str:
    """All fields of matching points, one result series per tag set (so tags are known).

    With `GROUP BY *` the limit applies per series; the caller merges and cuts again."""
    statement = (
        f"SELECT * FROM {quote_ident(measurement)} {where(start_ns, end_ns, tags)} GROUP BY *"
    )
    return statement if limit is None else f"{statement} LIMIT {int(limit)}"


def select_count(
    measurement: str, *, start_ns: int, end_ns: int, tags: Mapping[str, str] | None = None
) -> str:
    """Per-field counts (`count_<field>` columns): the row count only when there is one field."""
    return f"SELECT count(*) FROM {quote_ident(measurement)} {where(start_ns, end_ns, tags)}"


def select_sum(
    measurement: str,
    field: str,
    *,
    start_ns: int,
    end_ns: int,
    tags: Mapping[str, str] | None = None,
) -> str:
    return (
        f"SELECT sum({quote_ident(field)}) FROM {quote_ident(measurement)} "
        f"{where(start_ns, end_ns, tags)}"
    )


def show_field_keys(measurement: str) -> str:
    """Field names and types; the JSON answer writes float 2.0 as `2`, so types come from here."""
    return f"SHOW FIELD KEYS FROM {quote_ident(measurement)}"


def create_database(name: str) -> str:
    return f"CREATE DATABASE {quote_ident(name)}"
