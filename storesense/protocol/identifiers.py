"""Store and device identifiers: `[a-z0-9][a-z0-9_-]{0,63}`."""

import re

IDENTIFIER_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def is_identifier(value: str) -> bool:
    return _IDENTIFIER.fullmatch(value) is not None
