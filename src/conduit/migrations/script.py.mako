"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Review before merging: is it reversible, and safe on a live PostgreSQL?
(``conduit migrate lint`` checks the latter.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def _timeouts() -> None:
    """On PostgreSQL, give up rather than queue behind live traffic (which would then
    queue behind this migration)."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
        op.execute(sa.text("SET LOCAL statement_timeout = '60s'"))


def upgrade() -> None:
    _timeouts()
% if upgrades:
    ${upgrades}
% endif


def downgrade() -> None:
    _timeouts()
% if downgrades:
    ${downgrades}
% endif
