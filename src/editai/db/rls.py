"""PostgreSQL row-level security: the second wall behind the ORM hook.

Used by migrations. Tenant transactions run as ``tenant_role`` (``SET LOCAL ROLE``) with
``app.profile_id``/``app.user_id`` set; the policies below compare rows against them.
"""

from __future__ import annotations

from alembic import op

from editai.db.models import TENANT_TABLES

_PROFILE = "NULLIF(current_setting('app.profile_id', true), '')::uuid"
_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"

# table -> the owner column compared against the scope setting
POLICIES: dict[str, tuple[str, str]] = {
    "users": ("id", _USER),
    "profiles": ("user_id", _USER),
    **{table: ("profile_id", _PROFILE) for table in TENANT_TABLES},
}

_READ_ONLY = {"users"}


def create_tenant_role(role: str) -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE "{role}" NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
            END IF;
        END
        $$
        """
    )
    # The connecting (owner) role must be able to SET ROLE to it.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
                EXECUTE format('GRANT %I TO %I', '{role}', current_user);
            END IF;
        END
        $$
        """
    )


def enable_for_table(table: str, role: str) -> None:
    column, setting = POLICIES[table]
    privileges = "SELECT" if table in _READ_ONLY else "SELECT, INSERT, UPDATE, DELETE"
    op.execute(f'GRANT {privileges} ON TABLE "{table}" TO "{role}"')
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(
        f'CREATE POLICY tenant_isolation ON "{table}" TO "{role}" '
        f"USING ({column} = {setting}) WITH CHECK ({column} = {setting})"
    )


def disable_for_table(table: str, role: str) -> None:
    op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
    op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
    op.execute(f'REVOKE ALL ON TABLE "{table}" FROM "{role}"')
