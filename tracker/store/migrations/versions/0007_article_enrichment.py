"""enrichment, and clean clip links: the article queue (items whose page is read across cycles), the
article's text and image credit on the clip, search items kept unverified, the link each feed gave
(clip_source.link), and every stored clip's url cleaned (tracking parameters and fragment removed).

A clip whose stored canonical URL is not what tracker.normalize computes today (an older rule) moves
to today's id; when a clip already has that id, the two are merged, keeping staff decisions and edits
the way tracker.store.resolve merges a resolved search link. Plain SQL over the columns of this
revision: later revisions add columns the ORM tables would select.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
import json
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import tracker.store.types
from tracker.normalize import canonical_url, clean_url, clip_id_for


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_STAFF_EDITS = ("headline", "blurb", "image_override_url", "image_credit", "image_alt", "outlet_display", "position")
_FEED_FIELDS = ("title", "summary", "content", "author", "published_at", "published_raw", "image_url", "outlet")
_GOOGLE_PATHS = ("/rss/articles/", "/articles/", "/read/")


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
    now = datetime.now(UTC)  # a migration has no injected clock; this only dates the merge's history line
    rows = bind.execute(sa.text("SELECT id, canonical_url, url FROM clip ORDER BY first_seen_at, id")).all()
    for clip_id, stored_canonical, url in rows:
        if any(p in url for p in _GOOGLE_PATHS) and "news.google." in url:
            continue  # a search link: the resolver replaces it with the publisher's URL
        clean = clean_url(url)
        if clean != url:
            bind.execute(sa.text("UPDATE clip SET url = :u WHERE id = :i"), {"u": clean, "i": clip_id})
        canonical = canonical_url(clean)
        new_id = clip_id_for(canonical)
        if canonical == stored_canonical or new_id == clip_id:
            continue
        target = bind.execute(sa.text("SELECT id FROM clip WHERE id = :i"), {"i": new_id}).first()
        if target is None:
            _move(bind, clip_id, new_id, canonical)
        else:
            _merge(bind, clip_id, new_id, now)


def _columns(bind: sa.engine.Connection) -> list[str]:
    return [c["name"] for c in sa.inspect(bind).get_columns("clip")]


def _move(bind: sa.engine.Connection, old_id: str, new_id: str, canonical: str) -> None:
    cols = [c for c in _columns(bind) if c not in ("id", "canonical_url")]
    listed = ", ".join(cols)
    # The old row keeps a placeholder canonical URL until it is deleted (the column is unique).
    bind.execute(sa.text("UPDATE clip SET canonical_url = :p WHERE id = :i"), {"p": f"moving:{old_id}", "i": old_id})
    bind.execute(sa.text(f"INSERT INTO clip (id, canonical_url, {listed}) SELECT :n, :c, {listed} FROM clip WHERE id = :o"),
                 {"n": new_id, "c": canonical, "o": old_id})
    _move_children(bind, old_id, new_id)
    bind.execute(sa.text("DELETE FROM clip WHERE id = :o"), {"o": old_id})


def _merge(bind: sa.engine.Connection, old_id: str, new_id: str, now: datetime) -> None:
    names = ("status", "reviewed_by", "reviewed_at", "featured", "tags", "manual", "first_seen_at", *_STAFF_EDITS, *_FEED_FIELDS)
    listed = ", ".join(names)
    old = bind.execute(sa.text(f"SELECT {listed} FROM clip WHERE id = :i"), {"i": old_id}).mappings().one()
    keep = bind.execute(sa.text(f"SELECT {listed} FROM clip WHERE id = :i"), {"i": new_id}).mappings().one()
    changes: dict[str, object] = {}
    if old["reviewed_at"] is not None and (keep["reviewed_at"] is None or str(old["reviewed_at"]) > str(keep["reviewed_at"])):
        changes.update(status=old["status"], reviewed_by=old["reviewed_by"], reviewed_at=old["reviewed_at"])
    for attr in (*_STAFF_EDITS, *_FEED_FIELDS):
        if keep[attr] in (None, "") and old[attr] not in (None, ""):
            changes[attr] = old[attr]
    changes["featured"] = bool(keep["featured"]) or bool(old["featured"])
    changes["manual"] = bool(keep["manual"]) or bool(old["manual"])
    if str(old["first_seen_at"]) < str(keep["first_seen_at"]):
        changes["first_seen_at"] = old["first_seen_at"]
    tags = list(dict.fromkeys([*json.loads(keep["tags"] or "[]"), *json.loads(old["tags"] or "[]")]))
    changes["tags"] = json.dumps(tags)
    assignments = ", ".join(f"{k} = :{k}" for k in changes)
    bind.execute(sa.text(f"UPDATE clip SET {assignments} WHERE id = :the_id"), {**changes, "the_id": new_id})
    _move_children(bind, old_id, new_id)
    bind.execute(sa.text("DELETE FROM clip WHERE id = :o"), {"o": old_id})
    audit = sa.text("INSERT INTO audit (clip_id, \"user\", action, at, detail) VALUES (:c, 'migration', 'merge', :at, :d)")
    bind.execute(audit.bindparams(sa.bindparam("at", type_=tracker.store.types.UTCDateTime())),
                 {"c": new_id, "at": now, "d": f"the same story once links are cleaned; merged clip {old_id} into this one"})


def _move_children(bind: sa.engine.Connection, old_id: str, new_id: str) -> None:
    have = {(k, t): bool(m) for k, t, m in bind.execute(
        sa.text("SELECT kind, target_id, manual FROM mention WHERE clip_id = :i"), {"i": new_id})}
    for mention_id, kind, target, manual, suppressed in bind.execute(sa.text(
            "SELECT id, kind, target_id, manual, suppressed FROM mention WHERE clip_id = :i"), {"i": old_id}).all():
        if (kind, target) not in have:
            bind.execute(sa.text("UPDATE mention SET clip_id = :n WHERE id = :m"), {"n": new_id, "m": mention_id})
            continue
        if manual and not have[(kind, target)]:  # a staff decision beats an automatic match
            bind.execute(sa.text("UPDATE mention SET manual = :t, suppressed = :s WHERE clip_id = :n AND kind = :k "
                                 "AND target_id = :g"), {"t": True, "s": bool(suppressed), "n": new_id, "k": kind, "g": target})
        bind.execute(sa.text("DELETE FROM mention WHERE id = :m"), {"m": mention_id})
    feeds = {f for (f,) in bind.execute(sa.text("SELECT feed_id FROM clip_source WHERE clip_id = :i"), {"i": new_id})}
    for feed_id, guid, first_seen, link in bind.execute(sa.text(
            "SELECT feed_id, guid, first_seen_at, link FROM clip_source WHERE clip_id = :i"), {"i": old_id}).all():
        if feed_id not in feeds:
            bind.execute(sa.text("INSERT INTO clip_source (clip_id, feed_id, guid, first_seen_at, link) "
                                 "VALUES (:n, :f, :g, :a, :l)"), {"n": new_id, "f": feed_id, "g": guid, "a": first_seen, "l": link})
    bind.execute(sa.text("DELETE FROM clip_source WHERE clip_id = :o"), {"o": old_id})
    for table in ("audit", "link_resolution", "enrichment"):
        bind.execute(sa.text(f"UPDATE {table} SET clip_id = :n WHERE clip_id = :o"), {"n": new_id, "o": old_id})


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
