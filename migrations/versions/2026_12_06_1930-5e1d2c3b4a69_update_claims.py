"""update_claims: the updates a replica took on while Redis was down (issue 25)

Each update is handled once across replicas: its claim and its completion live in Redis and,
while Redis is down, in this table (kept at least 24 h, then pruned by the bot). Not readable by
the dashboard's role: it holds nothing the dashboard shows.

Revision ID: 5e1d2c3b4a69
Revises: 637423ec35b4
Create Date: 2026-12-06 19:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1d2c3b4a69"
down_revision: str | Sequence[str] | None = "637423ec35b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "update_claims",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bot_id", "update_id", name=op.f("pk_update_claims")),
    )
    op.create_index(
        op.f("ix_update_claims_lease_until"), "update_claims", ["lease_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_update_claims_lease_until"), table_name="update_claims")
    op.drop_table("update_claims")
