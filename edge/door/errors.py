"""What can go wrong in the door counter, with messages that say what to do."""

from __future__ import annotations

from storesense.errors import StoresenseError


class DoorError(StoresenseError):
    """Base of the door counter's errors."""


class SourceError(DoorError):
    """The video source cannot be read (a missing file, a camera that is not there)."""


class CalibrationError(DoorError):
    """A walk test showed too little of anyone to measure."""
