"""feed.last_alert: what staff must hear about a feed that was read (items left unread, nothing
readable, no item with a link); before, these showed as a plain "ok"

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed") as batch_op:
        batch_op.add_column(sa.Column("last_alert", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed") as batch_op:
        batch_op.drop_column("last_alert")
