"""notify_delivery: the delivery log of digests and webhook alerts (a story reaches each recipient
once; failed sends are kept with their error and retried).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import tracker.store.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notify_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('item_key', sa.String(length=300), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('first_attempt_at', tracker.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_attempt_at', tracker.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', tracker.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel', 'recipient', 'item_key', name='uq_notify_delivery_item'),
    )
    with op.batch_alter_table('notify_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_notify_delivery_name_attempt', ['channel', 'name', 'last_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notify_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_notify_delivery_name_attempt')
    op.drop_table('notify_delivery')
