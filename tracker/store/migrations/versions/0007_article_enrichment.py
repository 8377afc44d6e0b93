"""enrichment, and clean clip links: the article queue (items whose page is read across cycles), the
article's text and image credit on the clip, search items kept unverified, the link each feed gave
(clip_source.link), and every stored clip's url cleaned (tracking parameters and fragment removed).

A clip whose stored canonical URL is not what tracker.normalize computes today (an older rule) moves
to today's id; when a clip already has that id, the two are merged, keeping staff decisions and edits
the way tracker.store.resolve merges a resolved search link (tracker.store.rekey, in plain SQL over
the columns of this revision: later revisions add columns the ORM tables would select).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import tracker.store.types
from tracker.store.rekey import Rekeyer


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch copy: on SQLite a batch drops and recreates the table, and the drop
    # would cascade to every clip's mentions and sources.
    op.add_column('clip', sa.Column('article', sa.Text(), nullable=False, server_default=''))
    op.add_column('clip', sa.Column('image_found_credit', sa.Text(), nullable=True))
    op.add_column('clip', sa.Column('unverified', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('clip_source', sa.Column('link', sa.Text(), nullable=True))
    op.create_table(
        'enrichment',
        sa.Column('item_key', sa.Text(), nullable=False),
        sa.Column('clip_id', sa.String(length=32), nullable=True),
        sa.Column('feed_id', sa.String(length=200), nullable=False),
        sa.Column('search_for', sa.String(length=250), nullable=False),
        sa.Column('link', sa.Text(), nullable=False),
        sa.Column('entry', sa.Text(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('queued_at', tracker.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', tracker.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('item_key'),
    )
    with op.batch_alter_table('enrichment', schema=None) as batch_op:
        batch_op.create_index('ix_enrichment_due', ['state', 'queued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrichment_clip_id'), ['clip_id'], unique=False)
    bind = op.get_bind()
    # The link each feed gave is the clip's url as stored so far (before it is cleaned below).
    bind.execute(sa.text("UPDATE clip_source SET link = (SELECT url FROM clip WHERE clip.id = clip_source.clip_id)"))
    _clean_clip_links(bind)


def _clean_clip_links(bind: sa.engine.Connection) -> None:
    rows = bind.execute(sa.text("SELECT id, canonical_url, url FROM clip ORDER BY first_seen_at, id")).all()
    rekeyer = Rekeyer(bind, datetime.now(UTC), detail="the same story once links are cleaned")
    rekeyer.rekey_stale([(r[0], r[1], r[2]) for r in rows])
    rekeyer.finish()


def downgrade() -> None:
    with op.batch_alter_table('enrichment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrichment_clip_id'))
        batch_op.drop_index('ix_enrichment_due')
    op.drop_table('enrichment')
    # DROP COLUMN in place (SQLite 3.35+), never a batch copy of clip: on SQLite that drops the old
    # table, and with foreign keys on the drop would cascade to every clip's mentions and sources.
    op.execute('ALTER TABLE clip_source DROP COLUMN link')
    op.execute('ALTER TABLE clip DROP COLUMN unverified')
    op.execute('ALTER TABLE clip DROP COLUMN image_found_credit')
    op.execute('ALTER TABLE clip DROP COLUMN article')
