"""The `conduit users` verbs."""

from __future__ import annotations
