"""Clips re-keyed in plain SQL, for migrations: when the rule that makes a clip's canonical URL changes
(a tracking parameter learnt), a clip stored under the old rule would no longer be found by its link,
and the next copy of the same story would be stored a second time. The clip moves to the id today's
rule gives, or, when a clip already has that id, the two become one, as tracker.store.resolve merges a
resolved search link: staff decisions and edits kept, every mention, source, history line, queue row,
search row and delivery record following the clip.

Plain SQL over the tables and columns the database has at the migration's revision: the ORM models
describe the newest schema, and a later revision's columns would be selected before they exist.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.normalize import canonical_url, clean_url, clip_id_for, fits_as_key
from tracker.store.types import UTCDateTime

_STAFF_EDITS = ("headline", "blurb", "image_override_url", "image_credit", "image_alt", "outlet_display", "position")
_FEED_FIELDS = ("title", "summary", "content", "author", "published_at", "published_raw", "image_url", "outlet",
                "article", "image_found_credit")
_STORY_FIELDS = ("story_id", "story_primary", "story_sig", "story_shingles")
_CHILD_TABLES = ("audit", "link_resolution", "enrichment")
# A news-search link stays keyed by itself until the resolver learns the publisher's URL.
_SEARCH_LINK_HOSTS = ("news.google.",)


class Rekeyer:
    """Moves or merges clips whose stored canonical URL is not today's, within one migration's connection."""

    def __init__(self, bind: Connection, now: datetime, *, detail: str,
                 reindex: Callable[[Connection, list[str]], object] | None = None) -> None:
        self.bind = bind
        self.now = now  # a migration has no injected clock; this only dates the merge's history line
        self.detail = detail
        self.reindex = reindex
        inspector = sa.inspect(bind)
        self.tables = set(inspector.get_table_names())
        self.clip_columns = [c["name"] for c in inspector.get_columns("clip")]
        self.source_columns = [c["name"] for c in inspector.get_columns("clip_source")]
        self.moved = self.merged = 0
        self.moved_ids: dict[str, str] = {}  # old clip id -> new, for the delivery log (finish)

    def rekey_stale(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """(id, stored canonical URL, url) of clips to check, oldest first: the first copy of a story
        keeps its place and the later ones merge into it. The key is made again from the clip's link,
        not from the stored key: an older rule may have lost bytes there (a Latin-1 escape decoded to
        U+FFFD), and a key made twice is not always the key made once (`%2541`)."""
        for clip_id, stored, url in rows:
            if any(host in stored for host in _SEARCH_LINK_HOSTS):
                continue
            clean = clean_url(url)
            canonical = canonical_url(clean)
            if not fits_as_key(clean):
                continue  # an article's address too long to be a key: the clip keeps its feed link's key
            if clean != url:
                self._execute("UPDATE clip SET url = :u WHERE id = :i", u=clean, i=clip_id)
            new_id = clip_id_for(canonical)
            if canonical == stored or new_id == clip_id:
                continue
            if self._execute("SELECT id FROM clip WHERE id = :i", i=new_id).first() is None:
                self._move(clip_id, new_id, canonical)
                self.moved += 1
            else:
                self._merge(clip_id, new_id)
                self.merged += 1

    def finish(self) -> None:
        """Delivery records follow the clips moved, in one chunked pass (module move_delivery_keys)."""
        if "notify_delivery" in self.tables:
            move_delivery_keys(self.bind, self.moved_ids)

    def rekey_article_queue(self, rows: Iterable[tuple[str, str]]) -> None:
        """The article queue's rows, (key, link as the feed gave it), are keyed by the item's canonical URL:
        re-keyed too, so an item seen again is known as read (a row already under the new key wins). A
        key whose escapes an older rule lost (U+FFFD) is made again from the link, when that is the
        item's own (not a search link, whose key was its publisher's address)."""
        if "enrichment" not in self.tables:
            return
        for key, link in rows:
            lost = "%EF%BF%BD" in key and not any(host in link for host in _SEARCH_LINK_HOSTS)
            new_key = canonical_url(link if lost else key)
            if new_key == key:
                continue
            if self._execute("SELECT 1 FROM enrichment WHERE item_key = :k", k=new_key).first() is None:
                self._execute("UPDATE enrichment SET item_key = :n WHERE item_key = :o", n=new_key, o=key)
            else:
                self._execute("DELETE FROM enrichment WHERE item_key = :o", o=key)

    # ---------------------------------------------------------------- one clip

    def _execute(self, sql: str, **params: Any) -> Any:
        return self.bind.execute(sa.text(sql), params)

    def _move(self, old_id: str, new_id: str, canonical: str) -> None:
        listed = ", ".join(c for c in self.clip_columns if c not in ("id", "canonical_url"))
        # The old row keeps a placeholder canonical URL until it is deleted (the column is unique).
        self._execute("UPDATE clip SET canonical_url = :p WHERE id = :i", p=f"moving:{old_id}", i=old_id)
        self._execute(f"INSERT INTO clip (id, canonical_url, {listed}) SELECT :n, :c, {listed} FROM clip WHERE id = :o",
                      n=new_id, c=canonical, o=old_id)
        if "clip_search" in self.tables:  # its row follows; deleting the old clip would cascade to it
            self._execute("UPDATE clip_search SET clip_id = :n WHERE clip_id = :o", n=new_id, o=old_id)
        self._move_children(old_id, new_id)
        self._execute("DELETE FROM clip WHERE id = :o", o=old_id)

    def _merge(self, old_id: str, new_id: str) -> None:
        names = [c for c in ("status", "reviewed_by", "reviewed_at", "featured", "tags", "manual", "first_seen_at",
                             "unverified", "version", *_STAFF_EDITS, *_FEED_FIELDS, *_STORY_FIELDS)
                 if c in self.clip_columns]
        listed = ", ".join(names)
        old = self._execute(f"SELECT {listed} FROM clip WHERE id = :i", i=old_id).mappings().one()
        keep = self._execute(f"SELECT {listed} FROM clip WHERE id = :i", i=new_id).mappings().one()
        changes: dict[str, object] = {}
        if old["reviewed_at"] is not None and (keep["reviewed_at"] is None or _later(old["reviewed_at"], keep["reviewed_at"])):
            changes.update(status=old["status"], reviewed_by=old["reviewed_by"], reviewed_at=old["reviewed_at"])
        old_edit, keep_edit = self._last_edit(old_id), self._last_edit(new_id)
        old_edited_later = old_edit is not None and (keep_edit is None or _later(old_edit, keep_edit))
        for attr in (a for a in _STAFF_EDITS if a in names):
            if old[attr] is not None and old[attr] != keep[attr] and (keep[attr] is None or old_edited_later):
                changes[attr] = old[attr]
        for attr in (a for a in _FEED_FIELDS if a in names):
            if keep[attr] in (None, "") and old[attr] not in (None, ""):
                changes[attr] = old[attr]
        changes["featured"] = bool(keep["featured"]) or bool(old["featured"])
        changes["manual"] = bool(keep["manual"]) or bool(old["manual"])
        if "unverified" in names:  # one copy's article was read: the story is verified
            changes["unverified"] = bool(keep["unverified"]) and bool(old["unverified"])
        if "version" in names:  # a form opened on either copy is stale now
            changes["version"] = max(int(keep["version"] or 1), int(old["version"] or 1)) + 1
        if _later(keep["first_seen_at"], old["first_seen_at"]):
            changes["first_seen_at"] = old["first_seen_at"]
        changes["tags"] = json.dumps(list(dict.fromkeys([*_tags(keep["tags"]), *_tags(old["tags"])])))
        if "story_id" in names:
            changes.update(self._story_after_merge(old_id, old, keep))
        assignments = ", ".join(f"{k} = :{k}" for k in changes)
        self._execute(f"UPDATE clip SET {assignments} WHERE id = :the_id", **changes, the_id=new_id)
        self._move_children(old_id, new_id)
        if "clip_search" in self.tables:  # by name, so SQLite's trigger takes the text out of the index
            self._execute("DELETE FROM clip_search WHERE clip_id = :o", o=old_id)
        self._execute("DELETE FROM clip WHERE id = :o", o=old_id)
        if self.reindex is not None:
            self.reindex(self.bind, [new_id])
        audit = sa.text("INSERT INTO audit (clip_id, \"user\", action, at, detail) VALUES (:c, 'migration', 'merge', :at, :d)")
        self.bind.execute(audit.bindparams(sa.bindparam("at", type_=UTCDateTime())),
                          {"c": new_id, "at": self.now, "d": f"{self.detail}; merged clip {old_id} into this one"})

    def _story_after_merge(self, old_id: str, old: Any, keep: Any) -> dict[str, object]:
        if keep["story_id"] is None and old["story_id"] is not None:  # the merged copy's story is the kept one's
            return {f: old[f] for f in _STORY_FIELDS}
        if old["story_primary"] and old["story_id"] is not None and old["story_id"] == keep["story_id"]:
            return {"story_primary": True}  # two copies of one story became one: it keeps the story's place
        if old["story_primary"] and old["story_id"] is not None and old["story_id"] != keep["story_id"]:
            # The merged copy leaves its story: the earliest copy left there becomes its primary.
            heir = self._execute(
                "SELECT id FROM clip WHERE story_id = :s AND id <> :o "
                "ORDER BY coalesce(published_at, first_seen_at), id LIMIT 1", s=old["story_id"], o=old_id).first()
            if heir is not None:
                self._execute("UPDATE clip SET story_primary = :t WHERE id = :i", t=True, i=heir[0])
        return {}

    def _last_edit(self, clip_id: str) -> Any:
        return self._execute("SELECT max(at) FROM audit WHERE clip_id = :i AND action = 'edit'", i=clip_id).scalar_one()

    def _move_children(self, old_id: str, new_id: str) -> None:
        have = {(k, t): bool(m) for k, t, m in self._execute(
            "SELECT kind, target_id, manual FROM mention WHERE clip_id = :i", i=new_id)}
        for mention_id, kind, target, manual, suppressed in self._execute(
                "SELECT id, kind, target_id, manual, suppressed FROM mention WHERE clip_id = :i", i=old_id).all():
            if (kind, target) not in have:
                self._execute("UPDATE mention SET clip_id = :n WHERE id = :m", n=new_id, m=mention_id)
                continue
            if manual and not have[(kind, target)]:  # a staff decision beats an automatic match
                self._execute("UPDATE mention SET manual = :t, suppressed = :s WHERE clip_id = :n AND kind = :k "
                              "AND target_id = :g", t=True, s=bool(suppressed), n=new_id, k=kind, g=target)
            self._execute("DELETE FROM mention WHERE id = :m", m=mention_id)
        others = ", ".join(c for c in self.source_columns if c != "clip_id")
        # Each placement its own parameter: PostgreSQL deduces one type per parameter and place.
        self._execute(f"INSERT INTO clip_source (clip_id, {others}) SELECT :n, {others} FROM clip_source "
                      "WHERE clip_id = :o AND feed_id NOT IN (SELECT feed_id FROM clip_source WHERE clip_id = :n2)",
                      n=new_id, n2=new_id, o=old_id)
        self._execute("DELETE FROM clip_source WHERE clip_id = :o", o=old_id)
        for table in (t for t in _CHILD_TABLES if t in self.tables):
            self._execute(f"UPDATE {table} SET clip_id = :n WHERE clip_id = :o", n=new_id, o=old_id)
        self.moved_ids[old_id] = new_id


def move_delivery_keys(bind: Connection, moves: Mapping[str, str]) -> None:
    """A story sent under a clip's old id (a copy not placed in a story yet goes out under its own id)
    stays sent when the clip is re-keyed (moves: old id -> new id): its records take the new id, unless
    the new id has its own record for that recipient. Looked up in chunks, once: no index starts with
    item_key, and one lookup per clip read the whole log (minutes for a migration on a year-old
    install). The store's moves (a resolved search link, an article's canonical address) call this too."""
    renames = {**moves, **{f"story:{old}": f"story:{new}" for old, new in moves.items()}}
    old_keys = list(renames)
    found: list[tuple[int, str, str, str]] = []
    for i in range(0, len(old_keys), 500):
        chunk = {f"v{n}": key for n, key in enumerate(old_keys[i:i + 500])}
        found += [(int(r[0]), r[1], r[2], r[3]) for r in bind.execute(sa.text(
            f"SELECT id, channel, recipient, item_key FROM notify_delivery WHERE item_key IN "
            f"({', '.join(':' + name for name in chunk)})"), chunk).all()]
    for row_id, channel, recipient, key in found:
        taken = bind.execute(sa.text("SELECT 1 FROM notify_delivery WHERE channel = :c AND recipient = :r "
                                     "AND item_key = :k"), {"c": channel, "r": recipient, "k": renames[key]}).first()
        if taken is None:
            bind.execute(sa.text("UPDATE notify_delivery SET item_key = :k WHERE id = :i"), {"k": renames[key], "i": row_id})
        else:
            bind.execute(sa.text("DELETE FROM notify_delivery WHERE id = :i"), {"i": row_id})


def _tags(raw: Any) -> list[str]:
    value = json.loads(raw) if isinstance(raw, str) else raw
    return [str(t) for t in value or ()]


def _later(a: object, b: object) -> bool:
    """a after b, for timestamps as either database returns them (datetimes, or SQLite's text)."""
    return str(a) > str(b)
