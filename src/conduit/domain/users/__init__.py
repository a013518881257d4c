"""The users area."""
