"""editai_require_profile(): a request's profile checked inside its transaction's BEGIN

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 05:45:00

A request that names its profile (X-Profile-Id) sends, with its transaction's BEGIN, a
call of this function and then its scope (db/scope_on_begin.py): the function raises
SQLSTATE EP403 unless the profile exists and belongs to the user, so a transaction never
runs one statement in a profile that is not the caller's. It runs as the connecting role
(before SET LOCAL ROLE), reads one row by primary key, and tells nothing apart: the
request then asks the full identity lookup which error to answer (NOT_FOUND, FORBIDDEN).
PostgreSQL only; SQLite requests always take the full lookup.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION editai_require_profile(profile uuid, owner uuid) RETURNS void
        LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $$
        BEGIN
            IF NOT EXISTS (
                SELECT 1 FROM public.profiles p WHERE p.id = profile AND p.user_id = owner
            ) THEN
                RAISE EXCEPTION 'profile not entered' USING ERRCODE = 'EP403';
            END IF;
        END
        $$
        """
    )
    # Only the connecting role calls it, before it drops to the tenant role.
    op.execute("REVOKE ALL ON FUNCTION editai_require_profile(uuid, uuid) FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS editai_require_profile(uuid, uuid)")
