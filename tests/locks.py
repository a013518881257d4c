"""Waiting until other sessions are blocked on a lock, as PostgreSQL (or InnoDB) reports it."""

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

LOCK_WAIT_TIMEOUT_SECONDS = 20.0

_WAITERS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND query LIKE :query"
)

# InnoDB (MariaDB, MySQL): the transactions of this schema waiting for a row lock.
_INNODB_WAITERS = text(
    "SELECT count(*) FROM information_schema.INNODB_TRX t"
    " JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id"
    " WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()"
    " AND t.trx_mysql_thread_id <> CONNECTION_ID() AND t.trx_query LIKE :query"
)
# InnoDB serves INNODB_TRX from a snapshot it refreshes only when the previous read is over
# 0.1 s old, and every read restarts that clock: polled more often, the table never changes
# and shows forever the waiters of the first poll.
_INNODB_POLL_SECONDS = 0.15
_POLL_SECONDS = 0.01


async def wait_for_lock_waiters(
    conn: AsyncConnection,
    *,
    count: int = 1,
    query_like: str = "%",
    timeout: float = LOCK_WAIT_TIMEOUT_SECONDS,
) -> None:
    """Return once ``count`` sessions whose statement matches ``query_like`` wait on a lock.

    pg_stat_activity is a snapshot per transaction, so each poll is a transaction of its own.
    Not autocommit: behind PgBouncer in transaction mode an autocommit statement's prepare and
    execute may land on different server connections.
    """
    async with asyncio.timeout(timeout):
        innodb = conn.dialect.name == "mysql"
        waiters, pause = (
            (_INNODB_WAITERS, _INNODB_POLL_SECONDS) if innodb else (_WAITERS, _POLL_SECONDS)
        )
        while True:
            found = (await conn.execute(waiters, {"query": query_like})).scalar_one()
            await conn.rollback()
            if found >= count:
                return
            await asyncio.sleep(pause)
