"""Each clip's search text ends with a line of its short words (` in `, ` ny `), so a search for
`NY` or `AI` finds the word, by the index, where it found every clip with `ny` in it ("any",
"Albany") by reading all of them: tracker.store.search.short_words_line. No schema change.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from tracker.store.search import PG_INDEX, create_search_index, short_words_line


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    # Nearly every row's text changes: the index is built again once at the end, not row by row
    # (FTS5 taking out and putting back each row's trigrams; the GIN index taking each new version).
    op.execute("DROP TRIGGER IF EXISTS clip_search_au" if sqlite else f"DROP INDEX IF EXISTS {PG_INDEX}")
    search = sa.table("clip_search", sa.column("id", sa.Integer), sa.column("body", sa.Text))
    # The line is read off the stored text, which is normalised already: no clip is read again.
    add_line = sa.update(search).where(search.c.id == sa.bindparam("row_id")).values(body=sa.bindparam("new_body"))
    last = -1
    while rows := connection.execute(sa.select(search.c.id, search.c.body).where(search.c.id > last)
                                     .order_by(search.c.id).limit(BATCH)).all():
        # Text indexed by this version already (0008's backfill, 0011's refold) ends with its line.
        changed = [{"row_id": row_id, "new_body": f"{body}\n{line}"} for row_id, body in rows
                   if (line := short_words_line(body or "")) and not body.endswith(f"\n{line}")]
        if changed:
            connection.execute(add_line, changed)
        last = rows[-1][0]
    if not sqlite:
        # Rewritten in key order, as 0013 does: the old versions' pages would stay at the head of the
        # table, empty, and the count that reads hits in storage order would read them all first.
        op.execute("CLUSTER clip_search USING clip_search_pkey")
        op.execute("ALTER TABLE clip_search SET WITHOUT CLUSTER")
    create_search_index(connection)  # the trigger or the index again; FTS5 rebuilt from the new text


def downgrade() -> None:
    # The line holds only words the text has: an older version's substring search finds the same clips.
    pass
