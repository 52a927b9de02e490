"""scope: who administers each protected group (issue 27)

``group_admins``: one row per creator or administrator of a protected group, kept by the bot
(``getChatAdministrators`` at ``/protect`` and daily, ``chat_member`` promotions and demotions).
The dashboard's read-only role reads it, and the group and channel ids of
``group_channel_links`` (not who made the link), to scope a signed-in owner to their groups and
those groups' channels (PostgreSQL only).

Revision ID: 3c5a7e9d1b24
Revises: 5e1d2c3b4a69
Create Date: 2026-12-07 00:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c5a7e9d1b24"
down_revision: str | Sequence[str] | None = "5e1d2c3b4a69"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "gatepulse_readonly"
GRANTS = (
    "SELECT ON TABLE group_admins",
    "SELECT (group_id, channel_id) ON TABLE group_channel_links",
)


def _grants(verb: str, direction: str) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    statements = "\n".join(f"{verb} {grant} {direction} {ROLE};" for grant in GRANTS)
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{ROLE}') THEN
                {statements}
            END IF;
        END
        $$
        """
    )


def upgrade() -> None:
    op.create_table(
        "group_admins",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["protected_groups.id"],
            name=op.f("fk_group_admins_group_id_protected_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_admins")),
        sa.UniqueConstraint("group_id", "user_id", name=op.f("uq_group_admins_group_id_user_id")),
    )
    op.create_index(op.f("ix_group_admins_user_id"), "group_admins", ["user_id"], unique=False)
    _grants("GRANT", "TO")


def downgrade() -> None:
    _grants("REVOKE", "FROM")
    op.drop_index(op.f("ix_group_admins_user_id"), table_name="group_admins")
    op.drop_table("group_admins")
