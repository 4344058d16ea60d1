"""Backends behind small interfaces, each with an embedded and a real implementation."""
