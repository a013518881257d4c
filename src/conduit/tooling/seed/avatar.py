"""Seeded avatars drawn locally: an identicon as an SVG ``data:`` URI, nothing fetched.

A demo must show its images offline and must not make browsers call out, so the picture travels
inside the profile's ``image`` value. Like the usual identicons, the picture is a 5 by 5 grid,
mirrored left to right, in one colour; grid and colour come from the bytes of the user's id, so
the same user always gets the same avatar.
"""

from __future__ import annotations

import base64
import uuid

_PREFIX = "data:image/svg+xml;base64,"
_SIDE = 5
_HALF = (_SIDE + 1) // 2  # the columns drawn; the rest mirror them


def identicon(user_id: uuid.UUID) -> str:
    """The avatar of ``user_id``: a ``data:image/svg+xml`` URI of a few hundred bytes."""
    bits = user_id.int
    hue = bits % 360
    bits >>= 9
    cells: list[str] = []
    for row in range(_SIDE):
        for column in range(_HALF):
            if bits & 1:
                cells.append(f"M{column} {row}h1v1h-1z")
                if column != _SIDE - 1 - column:
                    cells.append(f"M{_SIDE - 1 - column} {row}h1v1h-1z")
            bits >>= 1
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-1 -1 7 7" width="70" height="70">'
        '<rect x="-1" y="-1" width="7" height="7" fill="#f2f2f2"/>'
        f'<path fill="hsl({hue},55%,50%)" d="{"".join(cells)}"/></svg>'
    )
    return _PREFIX + base64.b64encode(svg.encode("ascii")).decode("ascii")
