"""Cursors of the ledger's keyset pages: the id of the last transfer shown, signed.

Built on the toolkit's :class:`conduit.db.pagination.CursorCodec`, scoped to the account the
cursor was issued to: an edited, truncated or forged cursor, or one borrowed from another
account, is refused as invalid before any query runs.
"""

from __future__ import annotations

import uuid

from conduit.db import pagination
from conduit.domain.errors import InvalidError

SUBJECT = "cursor"
_PURPOSE = "conduit.credits.cursor"


class LedgerCursors:
    """Issues and checks the cursors of one service's ledger pages."""

    def __init__(self, secret: str) -> None:
        self._codec = pagination.CursorCodec(secret, purpose=_PURPOSE)

    def encode(self, *, owner_id: uuid.UUID, last_id: int) -> str:
        return self._codec.encode((last_id,), scope=_scope(owner_id))

    def decode(self, cursor: str, *, owner_id: uuid.UUID) -> int:
        """The transfer id the next page starts after; InvalidError if the cursor is not genuine."""
        try:
            position = self._codec.decode(cursor, scope=_scope(owner_id))
        except pagination.InvalidCursor:
            raise InvalidError(SUBJECT, "is invalid") from None
        if not pagination.fits(position, (int,)):
            raise InvalidError(SUBJECT, "is invalid")
        last_id = position[0]
        assert isinstance(last_id, int)  # what fits() just checked, for the type checker
        return last_id


def _scope(owner_id: uuid.UUID) -> pagination.Scope:
    return {"owner": owner_id.hex}
