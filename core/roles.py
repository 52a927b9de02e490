"""PostgreSQL login users of the read-only group role (what the dashboard connects as).

The group role itself (``gatepulse_readonly``) is made by a migration; this module only adds
login users to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from core.db import backend_of, create_engine

READONLY_ROLE = "gatepulse_readonly"
"""The NOLOGIN group role made by migration ce1097037c19."""

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ReadonlyUserError(ValueError):
    """The read-only user cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class ReadonlyUserResult:
    name: str
    role: str
    created: bool


def check_role_name(kind: str, name: str) -> None:
    """Raise :class:`ReadonlyUserError` unless ``name`` is a plain role name."""
    if not _ROLE_NAME.match(name):
        raise ReadonlyUserError(
            f"{kind} {name!r} is not a plain PostgreSQL role name: use lower-case letters, "
            "digits and underscores, starting with a letter or underscore (at most 63)"
        )


async def ensure_readonly_user(
    url: str, name: str, password: str, *, role: str = READONLY_ROLE
) -> ReadonlyUserResult:
    """Create (or update) login user ``name`` as a member of the read-only group ``role``.

    Idempotent: an existing user gets the new password and the membership again. Sessions of the
    user default to read-only transactions; its privileges come only from ``role``. Refuses the
    connecting user itself, superusers, and roles that own tables.
    """
    check_role_name("user name", name)
    check_role_name("role", role)
    if not password:
        raise ReadonlyUserError("the password is empty")
    if backend_of(url) != "postgresql":
        raise ReadonlyUserError(
            "read-only users exist only on PostgreSQL; SQLite has no roles "
            "(the dashboard opens the same file)"
        )
    engine = create_engine(url=url, pool=False)
    try:
        async with engine.begin() as conn:
            if not await conn.scalar(
                sa.text("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :r"), {"r": role}
            ):
                raise ReadonlyUserError(
                    f"role {role} does not exist: run `gatepulse migrate` first"
                )
            existing = (
                await conn.execute(
                    sa.text(
                        "SELECT rolsuper, rolname = current_user AS is_me, "
                        "EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
                        "        WHERE c.relowner = r.oid) AS owns "
                        "FROM pg_catalog.pg_roles r WHERE rolname = :n"
                    ),
                    {"n": name},
                )
            ).first()
            if existing is not None and (existing.rolsuper or existing.is_me or existing.owns):
                raise ReadonlyUserError(
                    f"{name} is a superuser, the connecting user or an owner of tables: "
                    "pick another name for the read-only user"
                )
            verb = "ALTER ROLE %I WITH" if existing is not None else "CREATE ROLE %I"
            statements = [
                (
                    f"{verb} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT PASSWORD %L",
                    (name, password),
                ),
                ("GRANT %I TO %I", (role, name)),
                ("ALTER ROLE %I SET default_transaction_read_only = on", (name,)),
            ]
            for template, args in statements:
                params = {f"a{i}": value for i, value in enumerate(args)}
                placeholders = ", ".join(f"CAST(:a{i} AS text)" for i in range(len(args)))
                sql = await conn.scalar(
                    sa.text(f"SELECT format(CAST(:template AS text), {placeholders})"),
                    {"template": template, **params},
                )
                await conn.exec_driver_sql(str(sql))  # quoted by the server's format()
    finally:
        await engine.dispose()
    return ReadonlyUserResult(name=name, role=role, created=existing is None)
