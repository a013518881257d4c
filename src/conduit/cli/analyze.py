"""The `conduit analyze` verbs."""

from __future__ import annotations
