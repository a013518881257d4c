"""Bulk account operations: each is one statement over every row it touches, never a loop.

- :func:`deactivate_inactive`: one ``UPDATE users ... WHERE NOT EXISTS (...) RETURNING``.
- :func:`grant_credits`: one ``UPDATE users ... RETURNING`` and one multi-row ledger INSERT;
  when a name cannot be granted, one more read explains why and the whole grant is refused
  (the error rolls the unit of work back, so nobody is credited).

MariaDB and MySQL have no ``UPDATE ... RETURNING``: each first locks the rows it will change
in id order, then updates them (:func:`conduit.db.dialect.claim`), one statement more.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from conduit.db.dialect import claim, updates_return
from conduit.domain.articles.models import Article
from conduit.domain.comments.models import Comment
from conduit.domain.credits.models import CreditTransfer
from conduit.domain.errors import InvalidError
from conduit.domain.users.models import CREDITS_MAX, Role, User

USERNAMES_SUBJECT = "usernames"


@dataclass(frozen=True, slots=True)
class Granted:
    username: str
    balance: int


class GrantRefused(InvalidError):
    """Some usernames cannot be granted credits; ``reasons`` has one line per name."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(USERNAMES_SUBJECT, "; ".join(reasons))
        self.reasons = tuple(reasons)


async def deactivate_inactive(session: AsyncSession, *, since: dt.datetime) -> list[str]:
    """Deactivate every account with nothing written since ``since``: 1 statement (2 on
    MariaDB and MySQL, :func:`conduit.db.dialect.claim`).

    Affected: active accounts that are not admins, that existed before ``since`` (a newer
    account has not been inactive since then), and that have written no article and no
    comment since (deleted ones count: writing them was activity). Returns their usernames,
    sorted. A deactivated account can no longer sign in, and its tokens stop working.
    """
    wrote_article = exists().where(Article.author_id == User.id, Article.created_at >= since)
    wrote_comment = exists().where(Comment.author_id == User.id, Comment.created_at >= since)
    deactivated = await claim(
        session,
        User,
        where=[
            User.is_active.is_(True),
            User.role != Role.ADMIN.value,
            User.created_at < since,
            ~wrote_article,
            ~wrote_comment,
        ],
        values={"is_active": False},
        returning=[User.username],
    )
    return sorted(row.username for row in deactivated)


async def grant_credits(
    session: AsyncSession, *, usernames: Iterable[str], amount: int
) -> list[Granted]:
    """Add ``amount`` platform credits to each named active account: 2 statements (3 on
    MariaDB and MySQL, where a refusal costs 1 instead of 2).

    Duplicated names count once. The rows are locked in id order before they are updated
    (``SELECT ... ORDER BY id FOR UPDATE`` inside the UPDATE), the order transfers lock in,
    so a grant and a transfer touching the same accounts cannot deadlock. Every credited
    account gets a ledger row with no sender. Raises :class:`GrantRefused` naming every
    unknown or deactivated account, or one whose balance would overflow; then nothing is
    granted (the caller's unit of work rolls back).
    """
    if amount <= 0:
        raise InvalidError("amount", "must be a positive integer")
    names = sorted(set(usernames))
    rows = await _credit(session, names=names, amount=amount)
    if len(rows) < len(names):
        await _refuse(session, names=names, granted={row.username for row in rows})
    await _record(session, recipients=[row.id for row in rows], amount=amount)
    return sorted((Granted(row.username, row.credits) for row in rows), key=lambda g: g.username)


class Credited(NamedTuple):
    id: uuid.UUID
    username: str
    credits: int


async def _credit(session: AsyncSession, *, names: Sequence[str], amount: int) -> list[Credited]:
    """Add ``amount`` to each named account that may take it; their ids, usernames and new
    balances: 1 statement."""
    if not updates_return(session):
        return await _credit_claimed(session, names=names, amount=amount)
    # An alias, not User: the same table inside UPDATE users would be correlated away.
    target = aliased(User)
    locked = (
        select(target.id).where(target.username.in_(names)).order_by(target.id).with_for_update()
    )
    rows = (
        await session.execute(
            update(User)
            .where(
                User.id.in_(locked),
                User.is_active.is_(True),
                User.credits <= CREDITS_MAX - amount,
            )
            .values(credits=User.credits + amount)
            .returning(User.id, User.username, User.credits)
            .execution_options(synchronize_session=False)
        )
    ).all()
    return [Credited(row.id, row.username, row.credits) for row in rows]


async def _record(session: AsyncSession, *, recipients: Sequence[uuid.UUID], amount: int) -> None:
    if recipients:
        await session.execute(
            insert(CreditTransfer).values(
                [{"from_user_id": None, "to_user_id": to, "amount": amount} for to in recipients]
            )
        )


async def _refuse(session: AsyncSession, *, names: Sequence[str], granted: set[str]) -> None:
    """Raise :class:`GrantRefused` saying why each name left out was: 1 statement."""
    missing = [name for name in names if name not in granted]
    found = {
        row.username: row.is_active
        for row in await session.execute(
            select(User.username, User.is_active).where(User.username.in_(missing))
        )
    }
    raise _refusal(missing, active=found)


def _refusal(missing: Sequence[str], *, active: dict[str, bool]) -> GrantRefused:
    """Why each name in ``missing`` was not granted; ``active``: the accounts found by name."""
    reasons = []
    for name in missing:
        if name not in active:
            reasons.append(f"{name} is unknown")
        elif not active[name]:
            reasons.append(f"{name} is deactivated")
        else:
            reasons.append(f"{name} would exceed the maximum balance of {CREDITS_MAX}")
    return GrantRefused(reasons)


async def _credit_claimed(
    session: AsyncSession, *, names: Sequence[str], amount: int
) -> list[Credited]:
    """:func:`_credit` where UPDATE cannot return (MariaDB, MySQL): lock every named row in id
    order, refuse the grant from them (raising what :func:`_refuse` would), then update the
    rows, whose new balances follow from the locked ones: 2 statements (1 when refused)."""
    locked = (
        await session.execute(
            select(User.id, User.username, User.is_active, User.credits)
            .where(User.username.in_(names))
            .order_by(User.id)
            .with_for_update()
        )
    ).all()
    fit = [row for row in locked if row.is_active and row.credits <= CREDITS_MAX - amount]
    if len(fit) < len(names):
        granted = {row.username for row in fit}
        missing = [name for name in names if name not in granted]
        raise _refusal(missing, active={row.username: row.is_active for row in locked})
    await session.execute(
        update(User)
        .where(User.id.in_([row.id for row in fit]))
        .values(credits=User.credits + amount)
        .execution_options(synchronize_session=False)
    )
    return [Credited(row.id, row.username, row.credits + amount) for row in fit]
