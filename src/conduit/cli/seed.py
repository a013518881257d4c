"""The `conduit seed` verbs."""

from __future__ import annotations
