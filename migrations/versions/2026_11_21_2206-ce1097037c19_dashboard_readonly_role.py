"""dashboard readonly role

A NOLOGIN group role, ``gatepulse_readonly``, that may read exactly what the dashboard shows:
the analytics tables, member-count snapshots, summaries, the freshness table, and the names,
flags and counts of protected groups and enforced channels. It gets nothing on the raw logs
(verification_log, api_call_log, messages, member_events, admin_audit_log) nor on users,
owners, links, restrictions or the access list.

Login users join it with ``gatepulse create-readonly-user NAME --password-env VAR`` (the compose
stack's ``migrate`` service does this for the dashboard).

No ``ALTER DEFAULT PRIVILEGES ... GRANT SELECT``: a default grant would also hand the role every
future raw-log table. A migration that adds a dashboard table grants SELECT on it explicitly
(tests/production/test_readonly_role.py fails until it does).

PostgreSQL only; a no-op on SQLite, which has no roles. Roles are cluster-wide, so the upgrade
tolerates a role that already exists (another database on the server, or made by an admin
beforehand when the migrating user may not CREATE ROLE), and the downgrade keeps the role when
it still holds privileges in another database.

Revision ID: ce1097037c19
Revises: c9760c0853d7
Create Date: 2026-11-21 22:06:41.908134+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ce1097037c19"
down_revision: str | Sequence[str] | None = "c9760c0853d7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "gatepulse_readonly"

# Frozen at this revision on purpose: later migrations grant their own tables.
READABLE_TABLES = (
    "analytics_verification_daily",
    "analytics_api_calls_daily",
    "analytics_hourly_activity",
    "analytics_latency_histogram_daily",
    "analytics_group_daily",
    "member_count_snapshots",
    "summaries",
    "analytics_materializations",
    "protected_groups",
    "enforced_channels",
)


def _is_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if not _is_postgresql():
        return
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{ROLE}') THEN
                CREATE ROLE {ROLE} NOLOGIN;
            END IF;
        EXCEPTION WHEN duplicate_object THEN
            NULL;  -- created concurrently by a migration of another database
        END
        $$
        """
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO {ROLE}', current_database());
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO {ROLE}', current_schema());
        END
        $$
        """
    )
    op.execute(f"GRANT SELECT ON TABLE {', '.join(READABLE_TABLES)} TO {ROLE}")


def downgrade() -> None:
    if not _is_postgresql():
        return
    op.execute(f"REVOKE ALL ON TABLE {', '.join(READABLE_TABLES)} FROM {ROLE}")
    op.execute(
        f"""
        DO $$
        BEGIN
            EXECUTE format('REVOKE ALL ON SCHEMA %I FROM {ROLE}', current_schema());
            EXECUTE format('REVOKE ALL ON DATABASE %I FROM {ROLE}', current_database());
            BEGIN
                DROP ROLE {ROLE};
            EXCEPTION WHEN dependent_objects_still_exist THEN
                RAISE NOTICE 'role {ROLE} kept: it still holds privileges in another database';
            END;
        END
        $$
        """
    )
