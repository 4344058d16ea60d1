"""Typed request and response models of the API routes, kept apart from the route code."""
