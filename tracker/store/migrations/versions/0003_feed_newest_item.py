"""feed.newest_item_at: quiet-feed alerts by entry dates, not body changes

News-search feeds rewrite their bodies on every request, so "the body changed"
said every search feed had new items; the newest entry date says whether it did.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import tracker.store.types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed") as batch_op:
        batch_op.add_column(sa.Column("newest_item_at", tracker.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed") as batch_op:
        batch_op.drop_column("newest_item_at")
