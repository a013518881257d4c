"""Who is reading: the viewer's id, as a parameter bound when a statement runs.

Reads show things from the viewer's point of view (``favorited``, ``following``). The statements
name the viewer as the parameter ``:viewer_id`` rather than holding the id, so one statement
serves every reader and is built once (its shape only says whether there is a viewer at all).
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, bindparam

from conduit.db.model import CompactUuid

VIEWER = "viewer_id"


def viewer_param() -> ColumnElement[uuid.UUID]:
    """The viewer's id, bound when the statement runs (``{VIEWER: id}``)."""
    return bindparam(VIEWER, type_=CompactUuid())
