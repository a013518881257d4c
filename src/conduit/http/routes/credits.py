"""The credits endpoints: one's balance and ledger, and transfers to other users."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query

from conduit.db.retry import run_retrying
from conduit.domain.credits import service as credits
from conduit.domain.credits.cursor import LedgerCursors
from conduit.http.deps import CurrentUser, DatabaseDep, SessionDep, SettingsDep
from conduit.http.routes import API_PREFIX
from conduit.http.schemas.credits import (
    Credits,
    CreditsResponse,
    Transfer,
    TransferRequest,
    TransferResponse,
)

router = APIRouter(prefix=API_PREFIX, tags=["credits"])

LIMIT_MAX = 100
# A transfer that still meets a serialization failure or deadlock is run again this many times
# in all; past that the client gets 503 with Retry-After.
TRANSFER_ATTEMPTS = 3

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired token, or a deactivated account"}
}
_LEDGER_ERRORS: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORIZED,
    422: {"description": "`limit` out of range, or a `cursor` this server did not issue"},
}
_TRANSFER_ERRORS: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORIZED,
    403: {"description": "The sender's account was deactivated while the request ran"},
    404: {"description": "No user has the recipient's username (`profile`)"},
    422: {
        "description": "`amount` is not a positive whole number or exceeds the balance "
        "(`insufficient credits`); `to` is oneself or a deactivated account"
    },
    503: {"description": "The database stayed too busy to complete the transfer; retry"},
}


def _cursors(settings: SettingsDep) -> LedgerCursors:
    return LedgerCursors(settings.jwt_secret)


@router.get("/credits", response_model=CreditsResponse, responses=_LEDGER_ERRORS)
async def get_credits(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX, description="Page size (at most 100)")] = 20,
    cursor: Annotated[
        str | None,
        # No max_length here: an overlong cursor is refused by the codec like any other
        # cursor it did not issue, with the same message.
        Query(
            json_schema_extra={"minLength": 1},
            description="`nextCursor` of the previous page; omit it for the newest transfers",
        ),
    ] = None,
) -> CreditsResponse:
    codec = _cursors(settings)
    # Checked before the ledger is read: a forged cursor costs no more database time.
    after_id = codec.decode(cursor, owner_id=user.id) if cursor is not None else None
    page = await credits.ledger_page(session, owner_id=user.id, limit=limit, after_id=after_id)
    next_cursor = (
        codec.encode(owner_id=user.id, last_id=page.last_id) if page.last_id is not None else None
    )
    return CreditsResponse(
        credits=Credits(
            balance=page.balance,
            transfers=[Transfer.model_validate(item) for item in page.transfers],
            next_cursor=next_cursor,
        )
    )


@router.post(
    "/credits/transfer",
    status_code=201,
    response_model=TransferResponse,
    responses=_TRANSFER_ERRORS,
)
async def transfer(
    body: TransferRequest, user: CurrentUser, session: SessionDep, database: DatabaseDep
) -> TransferResponse:
    # Authentication read the caller in the request's unit of work. End it here, so that the
    # request does not keep a pooled connection idle while the transfer runs on another: under
    # load, every request holding one connection and waiting for a second would drain the pool.
    await session.commit()
    # Each attempt is a unit of work of its own, so a retry replays the whole transfer.
    outcome = await run_retrying(
        database,
        partial(
            credits.transfer, sender_id=user.id, to=body.transfer.to, amount=body.transfer.amount
        ),
        attempts=TRANSFER_ATTEMPTS,
    )
    return TransferResponse(
        transfer=Transfer.model_validate(outcome.transfer), balance=outcome.balance
    )
