"""InfluxQL statements, and quoting checked against a reader of InfluxQL's quoted strings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storesense.backends.timeseries import influxql

_ESCAPES = {"n": "\n", "\\": "\\", '"': '"', "'": "'"}


def read_quoted(text: str) -> tuple[str, int]:
    """Read a quoted string as InfluxQL's scanner does; return it and the characters used."""
    ending = text[0]
    out: list[str] = []
    i = 1
    while True:
        char = text[i]
        if char == ending:
            return "".join(out), i + 1
        if char in "\n\r":  # InfluxQL reads \r as \n, and a newline ends a string badly
            raise ValueError("bad string")
        if char == "\\":
            out.append(_ESCAPES[text[i + 1]])  # any other escape is an error there
            i += 2
        else:
            out.append(char)
            i += 1


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r")))
def test_string_literal_reads_back_whole(value: str) -> None:
    quoted = influxql.quote_string(value)
    assert read_quoted(quoted) == (value, len(quoted))


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r")))
def test_identifier_reads_back_whole(name: str) -> None:
    quoted = influxql.quote_ident(name)
    assert read_quoted(quoted) == (name, len(quoted))


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("it's", "'it\\'s'"), ("a\\b", "'a\\\\b'"), ("l1\nl2", "'l1\\nl2'"), ('"', "'\"'")],
)
def test_string_literal_escapes(value: str, quoted: str) -> None:
    assert influxql.quote_string(value) == quoted


def test_select_points_with_tags_and_limit() -> None:
    statement = influxql.select_points(
        "door", start_ns=10, end_ns=20, tags={"zone": "it's", "store": "s1"}, limit=5
    )
    assert statement == (
        'SELECT * FROM "door" WHERE time >= 10 AND time < 20 AND "store"::tag = \'s1\' '
        "AND \"zone\"::tag = 'it\\'s' GROUP BY * LIMIT 5"
    )


def test_count_sum_and_schema_statements() -> None:
    assert influxql.select_count("door", start_ns=-1, end_ns=2) == (
        'SELECT count(*) FROM "door" WHERE time >= -1 AND time < 2'
    )
    assert influxql.select_sum('we"ird', 'f"x', start_ns=0, end_ns=1, tags={"a": "b"}) == (
        'SELECT sum("f\\"x") FROM "we\\"ird" WHERE time >= 0 AND time < 1 AND "a"::tag = \'b\''
    )
    assert influxql.show_field_keys("door") == 'SHOW FIELD KEYS FROM "door"'
    assert influxql.create_database("db\\1") == 'CREATE DATABASE "db\\\\1"'
