import hashlib
import hmac

import pytest

from storesense.protocol.eid import eid_at, eid_for_window, parse_app_key, window_of


def test_eid_follows_the_published_formula() -> None:
    key = bytes(range(16))
    unix = 1_764_150_000  # some moment
    window = unix // 900
    expected = hmac.new(key, window.to_bytes(8, "big"), hashlib.sha256).hexdigest()[:16]
    assert eid_at(key, unix) == expected
    assert len(expected) == 16


def test_eid_rotates_every_fifteen_minutes() -> None:
    key = b"k" * 32
    assert window_of(899.9) == 0 and window_of(900) == 1
    assert eid_at(key, 1800) == eid_at(key, 2699)
    assert eid_at(key, 2699) != eid_at(key, 2700)
    assert eid_for_window(key, 3) == eid_at(key, 2700)


@pytest.mark.parametrize(
    ("text", "complaint"), [("zz", "hex"), ("00" * 8, "16 or 32 bytes"), ("00" * 20, "16 or 32")]
)
def test_bad_app_keys_are_refused(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_app_key(text)


def test_app_keys_of_both_lengths_parse() -> None:
    assert len(parse_app_key("ab" * 16)) == 16
    assert len(parse_app_key("AB" * 32)) == 32
