"""Search over normalised text, roles in the audit trail, and clip versions (issue #15).

clip_search holds each clip's searchable text normalised as the matcher normalises it, indexed
with FTS5 (trigram) on SQLite and pg_trgm (GIN) on PostgreSQL, and is backfilled here from every
clip. audit.role records the role a user acted in (NULL for entries made before roles). clip.version
counts staff edits and decisions, so a save made from an older version is refused.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

from tracker.store.search import create_search_index, drop_search_index, index_clips


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN, never a batch copy of clip: on SQLite that drops the old table, and
    # with foreign keys on, the drop would cascade to every clip's mentions and sources.
    op.add_column('clip', sa.Column('version', sa.Integer(), nullable=False, server_default=sa.text('1')))
    op.add_column('audit', sa.Column('role', sa.String(length=16), nullable=True))
    op.create_table(
        'clip_search',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clip_id', sa.String(length=32), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['clip_id'], ['clip.id'], ondelete='CASCADE', onupdate='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('clip_id'),
    )
    connection = op.get_bind()
    create_search_index(connection)  # before the backfill: SQLite's triggers then fill FTS5 as rows arrive
    index_clips(connection)


def downgrade() -> None:
    connection = op.get_bind()
    drop_search_index(connection)
    op.drop_table('clip_search')
    # DROP COLUMN in place (SQLite 3.35+), not a batch copy: see upgrade().
    op.execute('ALTER TABLE audit DROP COLUMN role')
    op.execute('ALTER TABLE clip DROP COLUMN version')
