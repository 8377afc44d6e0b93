"""The story of each clip beside its search text (clip_search.story_id), so the review queue, one card
per story, finds a story by any copy's words in one index lookup per story: through clip it took two
and more, and the queue's searches took 160-280 ms at a million clips (bench/README.md, "Search").
Triggers keep it in step (tracker.store.search.create_story_triggers); backfilled here.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from tracker.store.search import PG_INDEX, create_search_index, create_story_triggers, drop_story_triggers


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        # The update writes a new version of every row, and the trigram index would take each one:
        # dropped here, built again once the table is rewritten.
        op.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
    # Plain ALTER TABLE ADD COLUMN, never a batch copy (see 0008).
    op.add_column('clip_search', sa.Column('story_id', sa.String(length=32), nullable=True))
    op.execute("UPDATE clip_search SET story_id = (SELECT clip.story_id FROM clip WHERE clip.id = clip_search.clip_id)")
    if postgresql:
        # Rewritten in key order: otherwise the old versions' pages stay at the head of the table, empty,
        # and the count that reads hits in storage order (tracker.store.search.index_hits) reads them
        # all first (15 -> 125 ms at a million clips).
        op.execute("CLUSTER clip_search USING clip_search_pkey")
        op.execute("ALTER TABLE clip_search SET WITHOUT CLUSTER")
        create_search_index(bind)
    op.create_index(op.f('ix_clip_search_story_id'), 'clip_search', ['story_id'], unique=False)
    create_story_triggers(bind)


def downgrade() -> None:
    drop_story_triggers(op.get_bind())
    op.drop_index(op.f('ix_clip_search_story_id'), table_name='clip_search')
    op.execute('ALTER TABLE clip_search DROP COLUMN story_id')
