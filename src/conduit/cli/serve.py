"""The `conduit serve` verbs."""

from __future__ import annotations
