"""Credits: each user's balance, transfers between users, and the append-only ledger of them.

A transfer is one transaction of three statements on PostgreSQL:

1. ``SELECT ... FROM users WHERE id = :sender OR username = :to ORDER BY id FOR NO KEY UPDATE``
   finds both accounts and locks both rows, always in ascending id order: two transfers in
   opposite directions between the same pair queue on the same first row instead of each
   holding one row and waiting for the other (a deadlock). ``NO KEY UPDATE`` is the lock an
   UPDATE of a non-key column takes anyway; unlike ``FOR UPDATE`` it lets other transactions
   keep inserting rows that reference these users (their foreign key checks take KEY SHARE).
2. ``UPDATE users SET credits = credits + CASE ... END WHERE id IN (:sender, :recipient) AND
   <the sender still has the amount, the recipient has room> RETURNING id, credits`` moves the
   amount in one statement. The guard repeats the checks made on the locked rows, so that the
   balance check and the write can never interleave with another writer whatever the dialect;
   the ``credits >= 0`` CHECK constraint stays the last line of defence.
3. ``INSERT INTO credit_transfers ... RETURNING id, created_at`` records it.

The caller's unit of work commits the three together or rolls all of them back.

On SQLite there are no row locks (``FOR NO KEY UPDATE`` is not rendered) but one lock for the
whole database, held by one writer at a time. A transaction that reads first and writes later
fails at its first write ("database is locked", retryable) if another writer committed in
between, and under load most transfers would. So on SQLite a transfer starts with a write that
changes nothing: it takes the write lock at once, waiting its turn behind other writers (the
busy timeout), and nothing the transfer then reads can go stale before it commits. That is one
statement more than on PostgreSQL. The guarded UPDATE would still refuse to move credits that
a stale read believed were there.

On MariaDB and MySQL the lock is ``FOR UPDATE``: InnoDB has no ``NO KEY`` variant, so an
insert referencing one of the two users waits for the transfer to commit. InnoDB takes the row
locks as the statement reads the rows, which need not be in id order; two transfers that lock
a pair in opposite orders end in a deadlock (1213) that InnoDB resolves at once by rolling one
back, and the route runs it again (``run_retrying``). The UPDATE returns nothing there: the new
balances follow from the locked ones. Three statements, as on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from conduit.db.dialect import matched, updates_return
from conduit.db.pagination import InvalidCursor, KeyValue, fits
from conduit.domain.credits.models import CreditTransfer
from conduit.domain.errors import DomainError, ForbiddenError, InvalidError, NotFoundError
from conduit.domain.users.models import CREDITS_MAX, User

# The ledger's order: transfer ids, newest (highest) first.
_LEDGER_KEY = (int,)


class Direction(StrEnum):
    SENT = "sent"
    RECEIVED = "received"


@dataclass(frozen=True, slots=True)
class TransferView:
    """A ledger entry as one of its two parties sees it.

    ``counterparty`` is the other party's username; None for credits the platform granted.
    """

    id: int
    direction: Direction
    counterparty: str | None
    amount: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    transfer: TransferView
    balance: int


@dataclass(frozen=True, slots=True)
class LedgerPage:
    """An account's balance and one page of its transfers, newest first.

    ``next_after`` is the sort key (the id) of the page's last transfer when older ones remain,
    else None: where a keyset page continues (:mod:`conduit.db.pagination`).
    """

    balance: int
    transfers: list[TransferView]
    next_after: tuple[KeyValue, ...] | None


class InsufficientCredits(InvalidError):
    def __init__(self) -> None:
        super().__init__("amount", "insufficient credits")


class SenderInactive(ForbiddenError):
    """The sender's account was deactivated (or removed) after the request authenticated."""

    def __init__(self) -> None:
        DomainError.__init__(self, "user", "is deactivated")


async def ledger_page(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    limit: int,
    after: Sequence[KeyValue] | None = None,
) -> LedgerPage:
    """The balance of ``owner_id`` and up to ``limit`` of its transfers older than ``after``.

    One statement, whatever the page size: the page is a subquery (one more row than asked, to
    know whether another page follows) outer-joined to the owner's row, which supplies the
    balance even when there are no transfers, and to each counterparty's row for its username.
    """
    involves_owner = or_(
        CreditTransfer.from_user_id == owner_id, CreditTransfer.to_user_id == owner_id
    )
    page_query = select(
        CreditTransfer.id,
        CreditTransfer.from_user_id,
        CreditTransfer.to_user_id,
        CreditTransfer.amount,
        CreditTransfer.created_at,
    ).where(involves_owner)
    if after is not None:
        # A genuine cursor of another order (an older release's) cannot be read as an id.
        if not fits(after, _LEDGER_KEY):
            raise InvalidCursor("another order")
        page_query = page_query.where(CreditTransfer.id < after[0])
    page = page_query.order_by(CreditTransfer.id.desc()).limit(limit + 1).subquery("page")
    counterparty = aliased(User, name="counterparty")
    counterparty_id = case(
        (page.c.from_user_id == owner_id, page.c.to_user_id), else_=page.c.from_user_id
    )
    rows = (
        await session.execute(
            select(
                User.credits,
                page.c.id,
                page.c.from_user_id,
                page.c.amount,
                page.c.created_at,
                counterparty.username,
            )
            .select_from(User)
            .outerjoin(page, true())
            .outerjoin(counterparty, counterparty.id == counterparty_id)
            .where(User.id == owner_id)
            .order_by(page.c.id.desc())
        )
    ).all()
    if not rows:
        raise NotFoundError("user")
    transfers = [
        TransferView(
            id=row.id,
            direction=Direction.SENT if row.from_user_id == owner_id else Direction.RECEIVED,
            counterparty=row.username,
            amount=row.amount,
            created_at=row.created_at,
        )
        for row in rows
        if row.id is not None
    ]
    more = len(transfers) > limit
    transfers = transfers[:limit]
    return LedgerPage(
        balance=rows[0].credits,
        transfers=transfers,
        next_after=(transfers[-1].id,) if more else None,
    )


async def transfer(
    session: AsyncSession, *, sender_id: uuid.UUID, to: str, amount: int
) -> TransferOutcome:
    """Move ``amount`` credits from ``sender_id`` to the user named ``to``.

    Three statements on PostgreSQL, four on SQLite (see the module docstring).

    Raises, before changing anything: SenderInactive (403) when the sender is no longer active;
    InvalidError ``to`` (422) for oneself or a deactivated recipient; NotFoundError ``profile``
    (404) for an unknown one; InsufficientCredits (422) when the balance is short.
    """
    if not 0 < amount <= CREDITS_MAX:
        raise InvalidError("amount", f"must be between 1 and {CREDITS_MAX}")
    if session.get_bind().dialect.name == "sqlite":
        await _take_sqlite_write_lock(session, user_id=sender_id)
    accounts = (
        await session.execute(
            select(User.id, User.username, User.is_active, User.credits)
            .where(or_(User.id == sender_id, User.username == to))
            .order_by(User.id)
            # Not rendered on SQLite, which holds its write lock by now (see the module docstring).
            .with_for_update(key_share=True)
        )
    ).all()
    sender = next((row for row in accounts if row.id == sender_id), None)
    recipient = next((row for row in accounts if row.username == to), None)
    if sender is None or not sender.is_active:
        raise SenderInactive()
    if sender.username == to:
        raise InvalidError("to", "cannot transfer to yourself")
    if recipient is None:
        raise NotFoundError("profile")
    if not recipient.is_active:
        raise InvalidError("to", "is deactivated")
    if sender.credits < amount:
        raise InsufficientCredits()
    if recipient.credits > CREDITS_MAX - amount:
        raise InvalidError("amount", "would exceed the recipient's maximum balance")

    balances = await _move(
        session,
        sender=(sender_id, sender.credits),
        recipient=(recipient.id, recipient.credits),
        amount=amount,
    )
    if balances.keys() != {sender_id, recipient.id}:
        # Unreachable while the rows are locked. Should it happen, raising rolls back the half
        # of the transfer that did apply.
        raise InsufficientCredits()

    created = (
        await session.execute(
            insert(CreditTransfer)
            .values(from_user_id=sender_id, to_user_id=recipient.id, amount=amount)
            .returning(CreditTransfer.id, CreditTransfer.created_at)
        )
    ).one()
    view = TransferView(
        id=created.id,
        direction=Direction.SENT,
        counterparty=recipient.username,
        amount=amount,
        created_at=created.created_at,
    )
    return TransferOutcome(transfer=view, balance=balances[sender_id])


async def _move(
    session: AsyncSession,
    *,
    sender: tuple[uuid.UUID, int],
    recipient: tuple[uuid.UUID, int],
    amount: int,
) -> dict[uuid.UUID, int]:
    """Debit and credit in one guarded UPDATE; the new balance of each row it changed.

    ``sender`` and ``recipient``: each locked row's id and balance. Where UPDATE cannot return
    (MariaDB, MySQL), the new balances follow from the locked ones, for the rows the UPDATE
    matched: both, or neither (then the transfer is refused).
    """
    (sender_id, sender_balance), (recipient_id, recipient_balance) = sender, recipient
    delta: Any = case((User.id == sender_id, -amount), else_=amount)
    guard = or_(
        and_(User.id == sender_id, User.credits >= amount),
        and_(User.id == recipient_id, User.credits <= CREDITS_MAX - amount),
    )
    statement = (
        update(User)
        .where(User.id.in_([sender_id, recipient_id]), guard)
        .values(credits=User.credits + delta)
        .execution_options(synchronize_session=False)
    )
    if updates_return(session):
        rows = await session.execute(statement.returning(User.id, User.credits))
        return {row.id: row.credits for row in rows}
    if await matched(session, statement) != 2:
        return {}
    return {sender_id: sender_balance - amount, recipient_id: recipient_balance + amount}


async def _take_sqlite_write_lock(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    # Setting a column to itself writes the row without changing it; naming updated_at keeps
    # its on-update default from firing.
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    )
