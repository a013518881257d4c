"""The articles area."""
