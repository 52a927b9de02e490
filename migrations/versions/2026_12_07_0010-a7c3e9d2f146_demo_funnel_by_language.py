"""analytics: the funnel by prompt language; timed-out newcomers in the funnel (issue 26)

``analytics_funnel_language_daily`` (DESIGN): per day, group and the language a prompt was shown
in, the users prompted and the users who passed (by the language of their latest prompt, or
``unknown``). ``analytics_funnel_daily`` and ``analytics_all_groups_daily`` gain ``timed_out``:
the users the gate's timeout acted on that day. The dashboard's read-only role may read the
new table (PostgreSQL only).

Revision ID: a7c3e9d2f146
Revises: 9ed04020756c
Create Date: 2026-12-07 00:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c3e9d2f146"
down_revision: str | Sequence[str] | None = "9ed04020756c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "gatepulse_readonly"
READABLE_TABLES = ("analytics_funnel_language_daily",)
TIMED_OUT_IN = ("analytics_funnel_daily", "analytics_all_groups_daily")


def _grant() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{ROLE}') THEN
                GRANT SELECT ON TABLE {", ".join(READABLE_TABLES)} TO {ROLE};
            END IF;
        END
        $$
        """
    )


def upgrade() -> None:
    op.create_table(
        "analytics_funnel_language_daily",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=False),
        sa.Column("prompted", sa.BigInteger(), nullable=False),
        sa.Column("passed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_funnel_language_daily")),
        sa.UniqueConstraint(
            "day",
            "group_id",
            "lang",
            name=op.f("uq_analytics_funnel_language_daily_day_group_id_lang"),
        ),
    )
    for table in TIMED_OUT_IN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("timed_out", sa.BigInteger(), server_default="0", nullable=False)
            )
    _grant()


def downgrade() -> None:
    for table in TIMED_OUT_IN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("timed_out")
    op.drop_table("analytics_funnel_language_daily")
