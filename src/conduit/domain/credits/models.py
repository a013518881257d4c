"""The credits ledger: every transfer between two users, append-only."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from conduit.db.model import Base, BigIntIdentityKey, UTCDateTime, utcnow


class CreditTransfer(BigIntIdentityKey, Base):
    __tablename__ = "credit_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("from_user_id IS NULL OR from_user_id <> to_user_id", name="not_to_self"),
        Index(None, "from_user_id"),
        Index(None, "to_user_id"),
    )

    # NULL sender: credits granted by the platform rather than moved between users.
    from_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    to_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, server_default=utcnow())
