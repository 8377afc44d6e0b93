"""clip status/story index: the review queue's counts of stories by status from the index alone

The desk counts stories (a primary, or a clip in no story) in each status on every load after
its 30-second read cache expires. With only the status index each count read every clip of
that status from the table to test its story columns: 68 ms for the three at 100,000 clips.
Covered by (status, story_primary, story_id), they are answered from the index: 4 ms.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_clip_status_story", "clip", ["status", "story_primary", "story_id"])


def downgrade() -> None:
    op.drop_index("ix_clip_status_story", table_name="clip")
