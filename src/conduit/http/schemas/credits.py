"""Request and response bodies of the credits endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, PlainValidator, StringConstraints, WithJsonSchema

from conduit.domain.credits.service import Direction
from conduit.domain.users.models import CREDITS_MAX, USERNAME_MAX
from conduit.http.schemas.common import (
    NonBlankSchema,
    RequestModel,
    ResponseModel,
    Timestamp,
    Trimmed,
)


def _amount(value: object) -> int:
    # JSON integers only: pydantic's lax mode would take 5.0, "5" or true as 5, and a client
    # sending those has a bug that a silent conversion would hide.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    if value < 1:
        raise ValueError("must be greater than 0")
    if value > CREDITS_MAX:
        raise ValueError(f"must be at most {CREDITS_MAX}")
    return value


Amount = Annotated[
    int,
    PlainValidator(_amount),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": CREDITS_MAX}),
]
Recipient = Annotated[str, StringConstraints(max_length=USERNAME_MAX), NonBlankSchema, Trimmed]


class NewTransfer(RequestModel):
    to: Recipient
    amount: Amount


class TransferRequest(RequestModel):
    transfer: NewTransfer


class Transfer(ResponseModel):
    """A ledger entry from the reader's side: ``counterparty`` is null for platform grants."""

    id: int
    direction: Direction
    counterparty: str | None
    amount: int
    created_at: Timestamp


class TransferResponse(BaseModel):
    transfer: Transfer
    balance: int


class Credits(ResponseModel):
    balance: int
    transfers: list[Transfer]
    next_cursor: str | None


class CreditsResponse(BaseModel):
    credits: Credits
