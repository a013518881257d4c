"""The `conduit db_check` verbs."""

from __future__ import annotations
