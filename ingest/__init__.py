"""Ingest: decode device events, drop replays, resolve identity, keep state, raise alerts."""
