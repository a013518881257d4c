"""The total of live articles, striped so that no row is taken by every write of a kind.

The total is a grow-only pair per stripe: besides its base row ``live_articles`` (where
:func:`reset` puts the whole count), ``counters`` has rows ``live_articles+<s>`` and
``live_articles-<s>`` for :data:`STRIPES` stripes, and a unit of work adds 1 to its stripe's
``+`` row for each article that goes live and to its ``-`` row for each that is withdrawn (an
upsert: a row appears on first use), the stripe picked at random once per unit of work. Every
row only grows, so none goes below zero; the count is the base plus the ``+`` rows minus the
``-`` rows, summed when read (a primary-key read of 33 rows at most).
"""

from __future__ import annotations

import functools
import random

from sqlalchemy import (
    Executable,
    Integer,
    ScalarSelect,
    String,
    bindparam,
    case,
    delete,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.dialect import dialect_insert, insert_for
from conduit.domain.articles.models import Counter

LIVE_ARTICLES = "live_articles"
# Stripes per striped count: enough that concurrent writers rarely share one.
STRIPES = 16
_STRIPE_KEY = "conduit.counter_stripe"


def _stripe_name(name: str, stripe: int, *, by: int) -> str:
    return f"{name}{'+' if by > 0 else '-'}{stripe}"


def _rows(name: str) -> tuple[list[str], list[str]]:
    """The names of the rows that add to count ``name`` and of those that subtract from it."""
    adding = [name, *(_stripe_name(name, s, by=1) for s in range(STRIPES))]
    return adding, [_stripe_name(name, s, by=-1) for s in range(STRIPES)]


def total(name: str = LIVE_ARTICLES) -> ScalarSelect[int]:
    """The count ``name``: its base and ``+`` rows less its ``-`` rows (0 before any write)."""
    adding, subtracting = _rows(name)
    signed = case((Counter.name.in_(subtracting), -Counter.value), else_=Counter.value)
    return (
        select(func.coalesce(func.sum(signed), 0))
        .where(Counter.name.in_([*adding, *subtracting]))
        .scalar_subquery()
    )


@functools.lru_cache(maxsize=4)
def _add_statement(dialect: str) -> Executable:
    row = insert_for(dialect, Counter).values(
        name=bindparam("name", type_=String()), value=bindparam("value", type_=Integer())
    )
    return row.on_conflict_do_update(
        index_elements=[Counter.name], set_={"value": Counter.value + row.excluded.value}
    )


async def add(session: AsyncSession, *, name: str, by: int) -> None:
    """Add ``by`` to count ``name`` through this unit of work's stripe: 1 statement, built
    once per dialect.

    One stripe per unit of work, so a transaction that moves a count twice locks rows of one
    stripe, never rows of two in an order another transaction could reverse.
    """
    stripe: int = session.info.setdefault(_STRIPE_KEY, random.randrange(STRIPES))  # noqa: S311 - spreading load, not security
    connection = await session.connection()
    await connection.execute(
        _add_statement(connection.dialect.name),
        {"name": _stripe_name(name, stripe, by=by), "value": abs(by)},
    )


async def reset(session: AsyncSession, *, name: str, value: ScalarSelect[int]) -> None:
    """Set count ``name`` to ``value``, counted after its rows are locked: 3 statements.

    The rows are locked first, in the order writers take one, so writers wait until the caller
    commits; ``value`` is then computed in a statement of its own, after the lock, seeing every
    writer that committed before it. The stripes start again from zero.
    """
    adding, subtracting = _rows(name)
    names = [*adding, *subtracting]
    await session.execute(
        select(Counter.name).where(Counter.name.in_(names)).order_by(Counter.name).with_for_update()
    )
    await session.execute(delete(Counter).where(Counter.name.in_(names[1:])))
    upsert = dialect_insert(session, Counter).values(name=name, value=value)
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": upsert.excluded.value}
        )
    )
