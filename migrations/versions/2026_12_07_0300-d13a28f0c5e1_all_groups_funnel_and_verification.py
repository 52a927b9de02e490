"""analytics: all-groups funnel, checks, members and channels per day (the dashboard at 13k groups)

``analytics_all_groups_funnel_daily`` (day): ``analytics_funnel_daily`` summed over the groups
(user-days per group, as the Funnel page counts), the backlog, and the verification times
weighted by unmutes. ``analytics_all_groups_verification_daily`` (day, status, cached,
error_type, trigger): ``analytics_verification_daily`` over every group. The Funnel and
Verification pages read them with no group selected (issue 28).
``analytics_all_groups_members_daily`` (day): the protected groups synced that day and their
last member counts summed, for the Overview's members; ``analytics_all_channels_daily`` (day):
``analytics_channel_daily`` summed over the channels, for its subscribers produced.
``protected_groups`` gains an index on (title, id): the dashboard lists and searches groups by
title a page at a time. The dashboard's read-only role may read the new tables (PostgreSQL
only).

Revision ID: d13a28f0c5e1
Revises: b7e3a91c4d20
Create Date: 2026-12-07 03:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d13a28f0c5e1"
down_revision: str | Sequence[str] | None = "b7e3a91c4d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "gatepulse_readonly"
FUNNEL = "analytics_all_groups_funnel_daily"
VERIFICATION = "analytics_all_groups_verification_daily"
MEMBERS = "analytics_all_groups_members_daily"
CHANNELS = "analytics_all_channels_daily"
CHANNEL_SUMS = ("channels", "joins", "leaves", "joins_after_prompt", "leaves_after_unmute_7d")
FUNNEL_COUNTS = (
    "groups",
    "joined",
    "prompted",
    "clicked",
    "passed",
    "unmuted",
    "denied_clicks",
    "still_muted",
    "join_requests",
    "approved",
    "declined",
    "expired",
    "messages_deleted",
    "timed_out",
    "timed_unmutes",
)


def _id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _grant() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{ROLE}') THEN
                GRANT SELECT ON TABLE {FUNNEL}, {VERIFICATION}, {MEMBERS}, {CHANNELS}
                    TO {ROLE};
            END IF;
        END
        $$
        """
    )


def upgrade() -> None:
    op.create_table(
        FUNNEL,
        _id(),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in FUNNEL_COUNTS),
        sa.Column("verify_s_p50_mean", sa.Float(), nullable=True),
        sa.Column("verify_s_p90_mean", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{FUNNEL}")),
        sa.UniqueConstraint("day", name=op.f(f"uq_{FUNNEL}_day")),
    )
    op.create_table(
        VERIFICATION,
        _id(),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("error_type", sa.String(length=32), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("checks", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        sa.Column("latency_ms_max", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{VERIFICATION}")),
    )
    op.create_index(op.f(f"ix_{VERIFICATION}_day"), VERIFICATION, ["day"], unique=False)
    op.create_table(
        MEMBERS,
        _id(),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("synced_groups", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{MEMBERS}")),
        sa.UniqueConstraint("day", name=op.f(f"uq_{MEMBERS}_day")),
    )
    op.create_table(
        CHANNELS,
        _id(),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in CHANNEL_SUMS),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{CHANNELS}")),
        sa.UniqueConstraint("day", name=op.f(f"uq_{CHANNELS}_day")),
    )
    with op.batch_alter_table("protected_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_protected_groups_title_id"), ["title", "id"])
    _grant()


def downgrade() -> None:
    with op.batch_alter_table("protected_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protected_groups_title_id"))
    op.drop_table(CHANNELS)
    op.drop_table(MEMBERS)
    op.drop_index(op.f(f"ix_{VERIFICATION}_day"), table_name=VERIFICATION)
    op.drop_table(VERIFICATION)
    op.drop_table(FUNNEL)
