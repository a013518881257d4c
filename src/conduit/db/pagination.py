"""Offset pages and keyset (cursor) pages.

An offset page (``LIMIT n OFFSET k``) can jump anywhere, but it costs as much as the rows it
skips, and a row inserted ahead of a reader shifts every later page by one: the reader sees a
row twice. A keyset page continues *after* the sort key of the last row shown,

    WHERE (created_at, id) < (:created_at, :id) ORDER BY created_at DESC, id DESC LIMIT n

which an index on the sort key serves as one range scan however deep the page, and which rows
inserted before the position cannot shift. The sort key must be unique (end it with the key).

A *cursor* carries that position to a client and back: opaque (base64url) and tamper-evident.
:class:`CursorCodec` is the one codec of every keyset page. It signs (itsdangerous, HMAC-SHA256)
the position together with the page's *kind* (which list it continues) and *scope* (the filters
it was issued for), keyed with a secret the service holds. Kind and scope are signed, not
carried, so a cursor stays short. An edited, truncated or forged cursor, or one issued for
another list or other filters, fails the check and is refused before any query runs; so is a
genuine one whose position does not fit the query's sort key (:func:`fits`).

Framework-neutral: the standard library, itsdangerous and SQLAlchemy Core only.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

from itsdangerous import Signer
from sqlalchemy import ColumnElement, bindparam, tuple_

# The values a sort key may hold, as a cursor carries them.
KeyValue: TypeAlias = dt.datetime | uuid.UUID | float | int | str
Scope: TypeAlias = Mapping[str, str | int | None]
T = TypeVar("T")

# Longer than any cursor a key of a few columns makes: anything longer is refused unread.
MAX_CURSOR_LENGTH = 512
# Signed with every cursor: a change of the format invalidates the cursors of the old one.
_VERSION = b"2"


class InvalidCursor(ValueError):
    """A cursor that is malformed, was altered, or was issued for another list or query."""


class CursorCodec:
    """Signs positions into cursors and checks the cursors handed back.

    A cursor is ``<position>.<signature>``, both base64url: the position as JSON, the
    signature over the position, the page's ``kind`` and its ``scope``. ``secret`` may be a
    list of secrets, oldest first: the newest signs, any verifies (rotation without breaking
    the cursors clients hold). ``purpose`` separates keys: the same secret signs tokens
    elsewhere, and a signature made for one purpose never verifies for another.
    """

    def __init__(
        self, secret: str | bytes | Sequence[str] | Sequence[bytes], *, purpose: str
    ) -> None:
        self._signer = Signer(
            secret, salt=purpose, key_derivation="hmac", digest_method=hashlib.sha256
        )

    def encode(self, position: Sequence[KeyValue], *, kind: str, scope: Scope) -> str:
        payload = json.dumps([_tagged(value) for value in position], separators=(",", ":"))
        body = payload.encode()
        signature = self._signer.get_signature(_signed(body, kind, scope))
        return f"{_b64(body)}.{signature.decode()}"

    def decode(self, cursor: str, *, kind: str, scope: Scope) -> tuple[KeyValue, ...]:
        """The position in ``cursor``; :class:`InvalidCursor` unless this codec issued it for
        the list ``kind`` with ``scope``."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor("too long")
        encoded_body, dot, signature = cursor.partition(".")
        if not dot:
            raise InvalidCursor("malformed")
        body = _unb64(encoded_body)
        _unb64(signature)  # the one canonical spelling of the signature too
        # Checked before the payload is read: nothing the server did not sign gets parsed.
        if not self._signer.verify_signature(_signed(body, kind, scope), signature):
            raise InvalidCursor("signature mismatch")
        try:
            items = json.loads(body)
        except ValueError:
            raise InvalidCursor("malformed") from None
        if not isinstance(items, list):
            raise InvalidCursor("malformed")
        return tuple(_untagged(item) for item in items)


def _signed(body: bytes, kind: str, scope: Scope) -> bytes:
    """What a cursor's signature covers. JSON escapes NUL, so the parts cannot run together."""
    canonical = json.dumps([kind, dict(scope)], sort_keys=True, separators=(",", ":"))
    return b"\0".join((_VERSION, canonical.encode(), body))


def after(
    columns: Sequence[ColumnElement[Any]], names: Sequence[str], *, descending: bool = True
) -> ColumnElement[bool]:
    """Rows past a position in the order of ``columns`` (all descending, or all ascending).

    A row-value comparison, ``(a, b) < (:after_a, :after_b)``: PostgreSQL turns it into one
    index range condition over an index on ``(a, b)``; SQLite (3.15+) evaluates it too. The
    position is not part of the statement: it is bound when the statement runs, as the
    parameters :func:`position` names, so one statement serves every page. Each placeholder
    takes its column's type, so the value is bound exactly as the column stores it.
    """
    bound = [
        bindparam(_placeholder(name), type_=column.type)
        for column, name in zip(columns, names, strict=True)
    ]
    key, mark = tuple_(*columns), tuple_(*bound)
    return key < mark if descending else key > mark


def position(names: Sequence[str], values: Sequence[KeyValue]) -> dict[str, KeyValue]:
    """The parameters of :func:`after` for the position ``values`` of the key ``names``."""
    return {_placeholder(name): value for name, value in zip(names, values, strict=True)}


def _placeholder(name: str) -> str:
    return f"after_{name}"


def fits(position: Sequence[KeyValue], shape: Sequence[type]) -> bool:
    """Whether ``position`` holds exactly one value of each type in ``shape``, in order.

    A genuine cursor can still be for another order (one issued before the sort key changed):
    the query checks the shape before it binds the values.
    """
    return len(position) == len(shape) and all(
        type(value) is kind for value, kind in zip(position, shape, strict=True)
    )


def more_after_offset(*, offset: int, shown: int, total: int) -> bool:
    """Whether rows follow an offset page of ``shown`` rows that started at ``offset``."""
    return offset + shown < total


def split_lookahead(rows: Sequence[T], *, limit: int) -> tuple[list[T], bool]:
    """A keyset page read with ``LIMIT limit + 1``: its rows, and whether more follow."""
    return list(rows[:limit]), len(rows) > limit


def _tagged(value: KeyValue) -> str:
    if isinstance(value, bool):  # an int subclass, but never a sort key
        raise TypeError("a cursor cannot carry a bool")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("a cursor carries aware datetimes only")
        return "t" + value.isoformat()
    if isinstance(value, uuid.UUID):
        return "u" + value.hex
    if isinstance(value, float):
        return "f" + repr(value)  # repr round-trips a float exactly
    if isinstance(value, int):
        return "i" + str(value)
    return "s" + value


def _untagged(item: object) -> KeyValue:
    if not isinstance(item, str) or not item:
        raise InvalidCursor("malformed")
    tag, text = item[0], item[1:]
    try:
        if tag == "t":
            moment = dt.datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise InvalidCursor("malformed")
            return moment
        if tag == "u":
            return uuid.UUID(hex=text)
        if tag == "f":
            return float(text)
        if tag == "i":
            return int(text)
        if tag == "s":
            return text
    except ValueError:
        raise InvalidCursor("malformed") from None
    raise InvalidCursor("malformed")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor("malformed") from None
    # The decoder skips stray characters and ignores the spare bits of the last one: only the
    # one canonical spelling of the bytes is accepted, so no edit to a cursor goes unnoticed.
    if _b64(raw) != text:
        raise InvalidCursor("malformed")
    return raw
