"""The `conduit migrate` verbs."""

from __future__ import annotations
