"""Syndication stories and outlets: clip.story_id / story_primary / story_sig / story_shingles /
outlet_domain, and the story and outlet tables. Existing clips get their stories from the first
stories step after the upgrade (or `tracker stories build`): placing them needs their text signed,
which is the application's work, done once in batches, oldest first.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import tracker.store.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy: on SQLite a copy of clip would drop the old table, and the
    # foreign keys' ON DELETE CASCADE would take every mention and source with it.
    op.add_column('clip', sa.Column('story_id', sa.String(length=32), nullable=True))
    op.add_column('clip', sa.Column('story_primary', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('clip', sa.Column('story_sig', sa.LargeBinary(), nullable=True))
    op.add_column('clip', sa.Column('story_shingles', sa.Integer(), nullable=True))
    op.add_column('clip', sa.Column('outlet_domain', sa.String(length=255), nullable=True))
    op.add_column('clip', sa.Column('story_hints', tracker.store.types.JSONList(), server_default='[]', nullable=False))
    op.create_index('ix_clip_story_id', 'clip', ['story_id'], unique=False)
    op.create_index('ix_clip_outlet_domain', 'clip', ['outlet_domain'], unique=False)
    op.create_table(
        'story',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('first_seen_at', tracker.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', tracker.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('primary_by', sa.String(), nullable=True),
        sa.Column('primary_at', tracker.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('story', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_story_first_seen_at'), ['first_seen_at'], unique=False)
    op.create_table(
        'outlet',
        sa.Column('domain', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(), nullable=False),
        sa.Column('name_source', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=8), nullable=True),
        sa.Column('place', sa.String(), nullable=True),
        sa.Column('tier', sa.String(length=16), nullable=True),
        sa.Column('edited_by', sa.String(), nullable=True),
        sa.Column('edited_at', tracker.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('domain'),
    )


def downgrade() -> None:
    op.drop_table('outlet')
    with op.batch_alter_table('story', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_story_first_seen_at'))
    op.drop_table('story')
    op.drop_index('ix_clip_outlet_domain', table_name='clip')
    op.drop_index('ix_clip_story_id', table_name='clip')
    for column in ('story_hints', 'outlet_domain', 'story_shingles', 'story_sig', 'story_primary', 'story_id'):
        op.drop_column('clip', column)  # SQLite 3.35+ drops a column in place (no copy, no cascade)
