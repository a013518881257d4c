"""The profiles area."""
