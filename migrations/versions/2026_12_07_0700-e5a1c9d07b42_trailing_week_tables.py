"""analytics: trailing-week tables (the dashboard's rankings at 13k groups)

``analytics_group_7d`` (day, group_id), ``analytics_funnel_7d`` (day, group_id),
``analytics_channel_7d`` (day, channel_id), ``analytics_topic_7d`` (day, group_id,
message_thread_id) and ``analytics_bot_rights_7d`` (day, chat_id): each daily table's rows over
the 7 days ending at ``day`` added up per key (``core.models.weeks``). The dashboard ranks
groups, channels, topics and chats lacking rights over a 7-day range from one row each
instead of adding up seven (issue 28). ``analytics_materializations`` gains an index on
(table_name, partition_day): the dashboard reads a week only while it is as new as the days it
adds up; ``analytics_channel_daily`` and ``analytics_bot_rights_daily`` one on (key, day): the
dashboard reads the days of the channels and chats a page lists. The dashboard's read-only role
may read the new tables (PostgreSQL only).

Revision ID: e5a1c9d07b42
Revises: d13a28f0c5e1
Create Date: 2026-12-07 07:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a1c9d07b42"
down_revision: str | Sequence[str] | None = "d13a28f0c5e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "gatepulse_readonly"
GROUP = "analytics_group_7d"
FUNNEL = "analytics_funnel_7d"
CHANNEL = "analytics_channel_7d"
TOPIC = "analytics_topic_7d"
RIGHTS = "analytics_bot_rights_7d"
TABLES = (GROUP, FUNNEL, CHANNEL, TOPIC, RIGHTS)
MARKS = "analytics_materializations"
ORDERS = {
    GROUP: ("verifications", "messages"),
    FUNNEL: ("prompted", "join_requests"),
    CHANNEL: ("joins_after_prompt",),
    TOPIC: ("messages",),
    RIGHTS: ("lacking_s",),
}
"""The columns the dashboard ranks each by: an index on (day, column) each."""
BY_KEY = {"analytics_channel_daily": "channel_id", "analytics_bot_rights_daily": "chat_id"}
"""Daily tables the dashboard reads a page of keys from: an index on (key, day) each."""
GROUP_SUMS = (
    "messages", "active_users", "verifications", "passed", "failed", "joins", "leaves", "kicks",
    "bots_joined", "reactions", "reacting_users", "silent_reactors",
)  # fmt: skip
FUNNEL_SUMS = (
    "joined", "prompted", "clicked", "passed", "unmuted", "denied_clicks", "still_muted",
    "join_requests", "approved", "declined", "expired", "messages_deleted", "timed_out",
)  # fmt: skip
CHANNEL_SUMS = ("joins", "leaves", "joins_after_prompt", "leaves_after_unmute_7d")


def _id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _counts(names: Sequence[str]) -> list[sa.Column[int]]:
    return [sa.Column(c, sa.BigInteger(), nullable=False) for c in names]


def _table(name: str, keys: Sequence[str], *columns: sa.Column[object]) -> None:
    op.create_table(
        name,
        _id(),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(k, sa.BigInteger(), nullable=False) for k in keys),
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("day", *keys, name=op.f(f"uq_{name}_day_{'_'.join(keys)}")),
    )


def _grant() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{ROLE}') THEN
                GRANT SELECT ON TABLE {", ".join(TABLES)} TO {ROLE};
            END IF;
        END
        $$
        """
    )


def upgrade() -> None:
    _table(GROUP, ("group_id",), *_counts(GROUP_SUMS))
    _table(FUNNEL, ("group_id",), *_counts(FUNNEL_SUMS))
    _table(CHANNEL, ("channel_id",), *_counts(CHANNEL_SUMS))
    _table(
        TOPIC,
        ("group_id", "message_thread_id"),
        *_counts(("messages", "peak_active_users", "days")),
    )
    _table(
        RIGHTS,
        ("chat_id",),
        sa.Column("lacking_s", sa.Float(), nullable=False),
        sa.Column("days_lacking", sa.BigInteger(), nullable=False),
    )
    for name, columns in ORDERS.items():
        for column in columns:
            op.create_index(op.f(f"ix_{name}_day_{column}"), name, ["day", column])
    for name, key in BY_KEY.items():
        op.create_index(op.f(f"ix_{name}_{key}_day"), name, [key, "day"])
    with op.batch_alter_table(MARKS, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f(f"ix_{MARKS}_table_name_partition_day"), ["table_name", "partition_day"]
        )
    _grant()


def downgrade() -> None:
    for name, key in BY_KEY.items():
        op.drop_index(op.f(f"ix_{name}_{key}_day"), table_name=name)
    with op.batch_alter_table(MARKS, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{MARKS}_table_name_partition_day"))
    for name in reversed(TABLES):
        op.drop_table(name)
