"""ownerauth: owners' used sign-in links and the dashboard's audit of sign-ins and downloads

``dashboard_link_uses`` holds the nonce of each owner sign-in link once it was used (a second
use fails to insert and is refused); ``dashboard_audit_log`` records each sign-in and download.
The dashboard writes both through its read-only role, which gets INSERT on them and nothing
else: it never reads, updates or deletes these rows (issue 27).

Revision ID: b7e3a91c4d20
Revises: a7c3e9d2f146
Create Date: 2026-12-07 00:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b7e3a91c4d20"
down_revision: str | Sequence[str] | None = "a7c3e9d2f146"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "gatepulse_readonly"
INSERT_ONLY = ("dashboard_link_uses", "dashboard_audit_log")


def upgrade() -> None:
    op.create_table(
        "dashboard_link_uses",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_dashboard_link_uses")),
    )
    op.create_table(
        "dashboard_audit_log",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("viewer", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("download", sa.String(length=128), nullable=True),
        sa.Column(
            "group_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_audit_log")),
    )
    op.create_index(op.f("ix_dashboard_audit_log_timestamp"), "dashboard_audit_log", ["timestamp"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"GRANT INSERT ON TABLE {', '.join(INSERT_ONLY)} TO {ROLE}")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"REVOKE ALL ON TABLE {', '.join(INSERT_ONLY)} FROM {ROLE}")
    op.drop_index(op.f("ix_dashboard_audit_log_timestamp"), table_name="dashboard_audit_log")
    op.drop_table("dashboard_audit_log")
    op.drop_table("dashboard_link_uses")
