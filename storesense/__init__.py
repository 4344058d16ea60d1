"""storesense shared package: device protocol, settings, backends and the CLI."""

__version__ = "0.1.0"
