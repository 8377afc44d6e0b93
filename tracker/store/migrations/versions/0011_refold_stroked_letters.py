"""Search text re-normalised where it holds a letter with a stroke (Đ, Ł, Ø…), which matching and
search now fold (đ -> d): a search for "Dang" finds "Đặng" in clips stored before. No schema change.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

from tracker.match.text import STROKED_FOLDED
from tracker.store.search import index_clips


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    search = sa.table("clip_search", sa.column("clip_id"), sa.column("body"))
    # Stored bodies are casefolded: only the lower-case forms can occur. One pass over the table,
    # then only the few clips that hold such a letter are normalised again, by the live normaliser
    # (as 0008's backfill: the query side is normalised by it too).
    holding = sa.or_(*(search.c.body.like(f"%{ch}%") for ch in STROKED_FOLDED))
    ids = [row[0] for row in connection.execute(sa.select(search.c.clip_id).where(holding))]
    if ids:
        index_clips(connection, ids)


def downgrade() -> None:
    pass  # the re-folded text is what an older version would search, less well: nothing to undo
