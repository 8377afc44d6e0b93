"""Clips re-keyed after six tracking parameters were learnt (traffic_source, icid, maca, wt_mc, wt_zmc,
emc: in real feeds' links, Al Jazeera's, the Monitor's, DW's, heise's, the NYT's), and after escapes
were kept byte for byte (a Latin-1 site's /caf%E9 had been keyed /caf%EF%BF%BD). A clip whose key is
not today's moves to the id today's rule gives its link, or merges into the copy already stored under
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
    # Links naming one of them (in any case: the normaliser lower-cases names, PostgreSQL's LIKE does
    # not), and links with escapes, whose bytes are kept as they are now (a Latin-1 site's /caf%E9 was
    # keyed /caf%EF%BF%BD): one pass over the table, the key made again from each one's link.
    naming = sa.or_(*(sa.func.lower(clip.c.canonical_url).like(f"%{p}=%") for p in _PARAMS),
                    clip.c.canonical_url.contains("%", autoescape=True))
    rows = bind.execute(sa.select(clip.c.id, clip.c.canonical_url, clip.c.url).where(naming)
                        .order_by(clip.c.first_seen_at, clip.c.id)).all()
    rekeyer.rekey_stale([(r[0], r[1], r[2]) for r in rows])
    rekeyer.finish()
    queue = sa.table("enrichment", sa.column("item_key"), sa.column("link"))
    keys = bind.execute(sa.select(queue.c.item_key, queue.c.link).where(
        sa.or_(*(sa.func.lower(queue.c.item_key).like(f"%{p}=%") for p in _PARAMS),
               queue.c.item_key.contains("%EF%BF%BD", autoescape=True))))
    rekeyer.rekey_article_queue([(k, link) for k, link in keys])


def downgrade() -> None:
    pass  # an older version keys these clips with the parameters again; it stores the next copy anew
