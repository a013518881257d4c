"""The credits area."""
