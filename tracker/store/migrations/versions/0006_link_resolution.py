"""link_resolution and resolver_state: search links (Google News) resolved to the publisher's URL
across cycles, and the resolver's back-off after Google's 429. Clips already stored with a Google
News link are queued, so they are resolved (and merged with an outlet's copy) like new ones.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import tracker.store.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'link_resolution',
        sa.Column('link_key', sa.Text(), nullable=False),
        sa.Column('link', sa.Text(), nullable=False),
        sa.Column('engine', sa.String(length=32), nullable=False),
        sa.Column('clip_id', sa.String(length=32), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('resolved_url', sa.Text(), nullable=True),
        sa.Column('queued_at', tracker.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', tracker.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', tracker.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('link_key'),
    )
    with op.batch_alter_table('link_resolution', schema=None) as batch_op:
        batch_op.create_index('ix_link_resolution_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_resolution_clip_id'), ['clip_id'], unique=False)
    op.create_table(
        'resolver_state',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('backoff_until', tracker.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('backoff_level', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('updated_at', tracker.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    # Clips stored before this revision with a Google News link (the default base: a tracker pointed
    # elsewhere had no resolver yet). Links the resolver does not recognise are marked failed by it.
    patterns = " OR ".join(
        f"canonical_url LIKE 'https://news.google.com/{path}/%'" for path in ("rss/articles", "articles", "read")
    )
    op.execute(
        "INSERT INTO link_resolution (link_key, link, engine, clip_id, state, attempts, queued_at) "
        f"SELECT canonical_url, url, 'google_news', id, 'waiting', 0, first_seen_at FROM clip WHERE {patterns}"
    )


def downgrade() -> None:
    op.drop_table('resolver_state')
    with op.batch_alter_table('link_resolution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_resolution_clip_id'))
        batch_op.drop_index('ix_link_resolution_due')
    op.drop_table('link_resolution')
