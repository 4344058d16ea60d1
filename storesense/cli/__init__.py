"""The `storesense` command."""
