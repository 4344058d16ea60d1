"""The exceptions every component raises; messages say what was wrong and what to do."""


class StoresenseError(Exception):
    """Base of all storesense errors."""


class ConfigError(StoresenseError):
    """Settings or an input file are invalid; the message names the key or line."""


class ProtocolError(StoresenseError):
    """A topic or payload does not follow device protocol v1."""


class BackendUnavailable(StoresenseError):
    """A backend (broker, Redis, InfluxDB) cannot be reached or refused the request."""


class PortInUse(StoresenseError):
    """A port we were told to listen on is taken by another process."""
