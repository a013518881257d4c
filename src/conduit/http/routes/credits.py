"""The credits endpoints: one's balance and ledger, and transfers to other users."""

from __future__ import annotations

import uuid
from functools import partial

from conduit.db.pagination import Scope
from conduit.db.retry import run_retrying
from conduit.domain.credits import service as credits
from conduit.http.deps import CurrentUser, DatabaseDep, SessionDep
from conduit.http.params import (
    Cursor,
    CursorCodecDep,
    Limit,
    PageKind,
    Responses,
    next_cursor,
    position,
)
from conduit.http.routes import API_PREFIX, resource_router
from conduit.http.schemas.credits import (
    Credits,
    CreditsResponse,
    Transfer,
    TransferRequest,
    TransferResponse,
)

router = resource_router(prefix=API_PREFIX, tags=["credits"])

# A transfer that still meets a serialization failure or deadlock is run again this many times
# in all; past that the client gets 503 with Retry-After.
TRANSFER_ATTEMPTS = 3

_LEDGER_ERRORS: Responses = {
    422: {"description": "`limit` out of range, or a `cursor` this server did not issue"},
}
_TRANSFER_ERRORS: Responses = {
    403: {"description": "The sender's account was deactivated while the request ran"},
    404: {"description": "No user has the recipient's username (`profile`)"},
    422: {
        "description": "`amount` is not a positive whole number or exceeds the balance "
        "(`insufficient credits`); `to` is oneself or a deactivated account"
    },
    503: {"description": "The database stayed too busy to complete the transfer; retry"},
}


def _ledger_scope(owner_id: uuid.UUID) -> Scope:
    # A ledger cursor is its owner's: borrowed by another account, it is refused.
    return {"owner": owner_id.hex}


@router.get("/credits", response_model=CreditsResponse, responses=_LEDGER_ERRORS)
async def get_credits(
    user: CurrentUser,
    session: SessionDep,
    codec: CursorCodecDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> CreditsResponse:
    scope = _ledger_scope(user.id)
    # Checked before the ledger is read: a forged cursor costs no more database time.
    after = position(codec, cursor, kind=PageKind.LEDGER, scope=scope)
    page = await credits.ledger_page(session, owner_id=user.id, limit=limit, after=after)
    return CreditsResponse(
        credits=Credits(
            balance=page.balance,
            transfers=[Transfer.model_validate(item) for item in page.transfers],
            next_cursor=next_cursor(codec, page.next_after, kind=PageKind.LEDGER, scope=scope),
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
