"""gate_timers: unanswered prompts deleted after the group's prompt_ttl, newcomers acted on at
its timeout (issue 26)

The timers live here, not in a process: they survive a restart, and replicas claim due rows
(``lease_until``) so that one of them acts. Not readable by the dashboard's role: nothing here is
shown there.

Revision ID: 9ed04020756c
Revises: 3c5a7e9d1b24
Create Date: 2026-12-06 23:57:25.054005+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9ed04020756c"
down_revision: str | Sequence[str] | None = "3c5a7e9d1b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gate_timers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_timers")),
        sa.UniqueConstraint(
            "group_id",
            "user_id",
            "kind",
            "message_id",
            name=op.f("uq_gate_timers_group_id_user_id_kind_message_id"),
        ),
    )
    op.create_index(op.f("ix_gate_timers_due_at"), "gate_timers", ["due_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_gate_timers_due_at"), table_name="gate_timers")
    op.drop_table("gate_timers")
