"""Clips re-keyed after six tracking parameters were learnt (traffic_source, icid, maca, wt_mc, wt_zmc,
emc: in real feeds' links, Al Jazeera's, the Monitor's, DW's, heise's, the NYT's). A clip stored with one
in its canonical URL moves to the id today's rule gives, or merges into the copy already stored without
it (a resolved search link, the same article from another feed), keeping staff decisions and edits
(tracker.store.rekey). Without this, the next copy of such a story would be stored a second time. No
schema change.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

from tracker.store.rekey import Rekeyer
from tracker.store.search import index_clips


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_PARAMS = ("traffic_source", "icid", "maca", "wt_mc", "wt_zmc", "emc")


def upgrade() -> None:
    bind = op.get_bind()
    rekeyer = Rekeyer(bind, datetime.now(UTC), detail="the same story once its link's tracking parameters are dropped",
                      reindex=index_clips)
    clip = sa.table("clip", sa.column("id"), sa.column("canonical_url"), sa.column("url"), sa.column("first_seen_at"))
    # Only links naming one of them (a parameter's name is followed by '='): one pass over the table.
    naming = sa.or_(*(clip.c.canonical_url.like(f"%{p}=%") for p in _PARAMS))
    rows = bind.execute(sa.select(clip.c.id, clip.c.canonical_url, clip.c.url).where(naming)
                        .order_by(clip.c.first_seen_at, clip.c.id)).all()
    rekeyer.rekey_stale([(r[0], r[1], r[2]) for r in rows])
    queue = sa.table("enrichment", sa.column("item_key"))
    keys = bind.execute(sa.select(queue.c.item_key).where(sa.or_(*(queue.c.item_key.like(f"%{p}=%") for p in _PARAMS))))
    rekeyer.rekey_article_queue([k for (k,) in keys])


def downgrade() -> None:
    pass  # an older version keys these clips with the parameters again; it stores the next copy anew
