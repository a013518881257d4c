"""The tags area."""
