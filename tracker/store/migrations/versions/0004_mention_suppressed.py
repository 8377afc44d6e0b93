"""mention.suppressed: staff removed a wrong match, and it must stay removed

A suppressed row (always manual) keeps the target's place on the clip so neither
ingest (which skips targets a clip already has) nor rematch (which keeps manual
rows) brings the match back; every read that counts mentions leaves it out.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mention") as batch_op:
        batch_op.add_column(sa.Column("suppressed", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("mention") as batch_op:
        batch_op.drop_column("suppressed")
