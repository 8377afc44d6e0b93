"""clip sort indexes: the dashboard's newest-first order, keyset-paginated

Lists sort by coalesce(published_at, first_seen_at), id. Without an index on that
expression every page sorts the whole clip table (seconds at a million clips); with
it, page 1 and page 1,000 both read ~50 index entries. Both SQLite and PostgreSQL
support expression indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

SORT_AT = "coalesce(published_at, first_seen_at)"


def upgrade() -> None:
    op.create_index("ix_clip_sort_at_id", "clip", [sa.text(SORT_AT), "id"])
    op.create_index("ix_clip_status_sort_at_id", "clip", ["status", sa.text(SORT_AT), "id"])


def downgrade() -> None:
    op.drop_index("ix_clip_status_sort_at_id", table_name="clip")
    op.drop_index("ix_clip_sort_at_id", table_name="clip")
