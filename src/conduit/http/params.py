"""What the routes share: the paging parameters, the keyset pages' cursors, response declarations.

Every list takes the same ``limit`` and ``offset``; every keyset page (the article lists, the
feed, the credits ledger) takes ``cursor`` and answers ``nextCursor``, both through one
:class:`~conduit.db.pagination.CursorCodec` keyed with the service's secret. A cursor is signed
for its :class:`PageKind` and the filters of its list (its *scope*): handed to another list, to
other filters or altered, it is refused with 422 under ``cursor`` (``conduit.http.errors``).

Responses: what follows from how an operation is built (401 for a token, 413, 422, 503) is
added to ``/openapi.json`` by :mod:`conduit.http.openapi`; what is particular to one route is
declared beside it; what several routes declare alike is here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, TypeAlias

from fastapi import Depends, Query

from conduit.db.pagination import CursorCodec, KeyValue, Scope
from conduit.http.deps import SettingsDep

LIMIT_MAX = 100
# Beyond this an OFFSET only burns database time (and overflows a bigint eventually).
OFFSET_MAX = 1_000_000_000

Limit = Annotated[int, Query(ge=1, le=LIMIT_MAX, description="Page size (at most 100)")]
# None when not sent: a list that also takes `cursor` refuses the two together, even offset=0.
Offset = Annotated[
    int | None,
    Query(ge=0, le=OFFSET_MAX, description="Items to skip (default 0)"),
]
Cursor = Annotated[
    str | None,
    # Non-empty in the contract. No max_length: the codec refuses "" or an overlong cursor
    # like any other cursor it did not issue, with the same message.
    Query(
        json_schema_extra={"minLength": 1},
        description="`nextCursor` of the previous page: continue right after it (never with "
        "`offset`)",
    ),
]


class PageKind(StrEnum):
    """Every keyset page of the API: a cursor continues only the kind of list it came from."""

    ARTICLES = "articles"
    FEED = "feed"
    LEDGER = "ledger"


# The purpose (salt) of the cursors' key: the secret also signs tokens, under another purpose.
_CURSOR_PURPOSE = "conduit.cursor"


@functools.lru_cache(maxsize=4)
def _codec(secret: str) -> CursorCodec:
    return CursorCodec(secret, purpose=_CURSOR_PURPOSE)


async def cursor_codec(settings: SettingsDep) -> CursorCodec:
    """The codec of every keyset page, keyed with the service's secret."""
    return _codec(settings.jwt_secret)


CursorCodecDep = Annotated[CursorCodec, Depends(cursor_codec)]


def position(
    codec: CursorCodec, cursor: str | None, *, kind: PageKind, scope: Scope
) -> tuple[KeyValue, ...] | None:
    """The sort key a ``cursor`` continues after, or None without one.

    Raises :class:`~conduit.db.pagination.InvalidCursor` (422) for a cursor this service did not
    issue for this kind of list and these filters: checked before any statement runs.
    """
    return None if cursor is None else codec.decode(cursor, kind=kind, scope=scope)


def next_cursor(
    codec: CursorCodec, after: Sequence[KeyValue] | None, *, kind: PageKind, scope: Scope
) -> str | None:
    """The ``nextCursor`` of a page whose last row has the sort key ``after`` (None: the end)."""
    return None if after is None else codec.encode(after, kind=kind, scope=scope)


Responses: TypeAlias = dict[int | str, dict[str, Any]]

NO_ARTICLE: Responses = {404: {"description": "No live article has this slug"}}
TAKEN: Responses = {409: {"description": "Username or email already taken"}}
