"""The stories' part of the Store: where each clip's story and outlet are kept, and the outlet table.

Deciding is tracker.syndication's (with tracker.stories): this part reads what it needs (clips to
place, the window's signatures, a story's copies) and writes what it decided.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from tracker.errors import NotFoundError
from tracker.models import (
    ClipStatus,
    OutletEdit,
    OutletRecord,
    StoredSignature,
    StoryCopyInfo,
    StoryInput,
    StoryPlacement,
    StoryRecord,
)
from tracker.store.base import StoreBase, touch_primaries
from tracker.store.tables import AuditRow, ClipRow, FeedRow, MentionRow, OutletRow, StoryRow

STAFF_EDIT_FIELDS = ("headline", "blurb", "image_override_url", "image_credit", "image_alt", "outlet_display")
# Which name wins when several are known for one outlet (staff's always; og:site_name over a feed's title).
NAME_RANK = {"staff": 4, "site": 3, "feed": 2, "source": 1, "": 0}
_BATCH = 500


def staff_touched(row: ClipRow) -> bool:
    """Reviewed or edited by staff: such a copy is never silently put under another staff choice."""
    return row.status != ClipStatus.NEW.value or row.featured or any(getattr(row, f) is not None for f in STAFF_EDIT_FIELDS)


def untouched_by_staff() -> ColumnElement[bool]:
    """A clip nobody reviewed, edited, tagged, featured or corrected: every staff change moves its
    version past the first."""
    return and_(
        col(ClipRow.status) == ClipStatus.NEW.value, col(ClipRow.reviewed_at).is_(None),
        col(ClipRow.featured).is_(False), col(ClipRow.manual).is_(False), col(ClipRow.version) == 1,
        *(getattr(ClipRow, f).is_(None) for f in STAFF_EDIT_FIELDS),
    )


def rejected_with_its_primary() -> ColumnElement[bool]:
    """A copy nobody touched of a story whose primary staff rejected: rejected with it, though its own
    status stays new (the queue shows a story by its primary, so staff never see the copy to reject)."""
    primary = aliased(ClipRow)
    return and_(untouched_by_staff(), exists().where(
        col(primary.story_id) == col(ClipRow.story_id), col(primary.story_primary).is_(True),
        col(primary.status) == ClipStatus.REJECTED.value,
    ))


def _counted() -> ColumnElement[bool]:
    """The clips coverage counts: none staff rejected, on its own or with its story's primary."""
    return and_(col(ClipRow.status) != ClipStatus.REJECTED.value, not_(rejected_with_its_primary()))


def _targets(s: Session, clip_ids: Sequence[str]) -> dict[str, tuple[list[str], list[str]]]:
    found: dict[str, tuple[list[str], list[str]]] = {i: ([], []) for i in clip_ids}
    for i in range(0, len(clip_ids), _BATCH):
        for clip_id, kind, target in s.execute(
            select(col(MentionRow.clip_id), col(MentionRow.kind), col(MentionRow.target_id)).where(
                col(MentionRow.clip_id).in_(clip_ids[i : i + _BATCH]), col(MentionRow.suppressed).is_(False)
            )
        ).all():
            found[clip_id][0 if kind == "member" else 1].append(target)
    return found


class StoriesMixin(StoreBase):
    """Stories (clip.story_id, story rows) and outlets (outlet rows, clip.outlet_domain)."""

    # ------------------------------------------------------------ placing clips

    def clips_to_place(self, limit: int) -> list[StoryInput]:
        """Clips without a story yet (new, or stored before stories existed) or whose URL changed
        (the resolver re-keyed them: their outlet is unknown again), oldest first."""
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        with self.session() as s:
            rows = s.execute(
                select(ClipRow, sort_at).where(or_(col(ClipRow.story_id).is_(None), col(ClipRow.outlet_domain).is_(None)))
                .order_by(sort_at, col(ClipRow.id)).limit(limit)
            ).all()
            targets = _targets(s, [r[0].id for r in rows])
            out = []
            for row, at in rows:
                if isinstance(at, str):
                    at = datetime.fromisoformat(at)
                members, campaigns = targets[row.id]
                out.append(StoryInput(
                    id=row.id, url=row.url, title=row.title, summary=row.summary, article=row.article or row.content,
                    outlet=row.outlet, at=at if at.tzinfo else at.replace(tzinfo=row.first_seen_at.tzinfo),
                    story_id=row.story_id, staff_touched=staff_touched(row),
                    member_ids=tuple(sorted(set(members))), campaign_ids=tuple(sorted(set(campaigns))),
                    related=tuple(row.story_hints or ()),
                ))
            return out

    def window_signatures(self, since: datetime, targets: Iterable[tuple[str, str]],
                          exclude: Sequence[str] = (), per_target: int | None = None) -> Iterator[StoredSignature]:
        """Placed clips dated since `since` that name any of these (kind, target id): the candidates,
        streamed a few hundred targets at a time (the window is read, never held). With `per_target`,
        only each target's newest that many (ranked in the database, so older signatures are never read)."""
        wanted = sorted(set(targets))
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        seen = set(exclude)
        for i in range(0, len(wanted), _BATCH):
            with self.session() as s:
                named = and_(tuple_(col(MentionRow.kind), col(MentionRow.target_id)).in_(wanted[i : i + _BATCH]),
                             col(MentionRow.suppressed).is_(False))
                if per_target is None:
                    clip_ids = select(col(MentionRow.clip_id)).where(named)
                else:
                    rank = func.row_number().over(partition_by=(col(MentionRow.kind), col(MentionRow.target_id)),
                                                  order_by=(sort_at.desc(), col(ClipRow.id).desc())).label("rank")
                    ranked = (select(col(MentionRow.clip_id).label("clip_id"), rank)
                              .join(ClipRow, col(ClipRow.id) == col(MentionRow.clip_id))
                              .where(named, col(ClipRow.story_id).is_not(None), col(ClipRow.story_sig).is_not(None),
                                     sort_at >= since)).subquery()
                    clip_ids = select(ranked.c.clip_id).where(ranked.c.rank <= per_target)
                rows = s.execute(
                    select(col(ClipRow.id), col(ClipRow.story_id), col(ClipRow.story_sig), col(ClipRow.story_shingles),
                           col(ClipRow.title), col(ClipRow.outlet), col(ClipRow.story_hints), sort_at)
                    .where(col(ClipRow.id).in_(clip_ids), col(ClipRow.story_id).is_not(None),
                           col(ClipRow.story_sig).is_not(None), sort_at >= since)
                    .order_by(col(ClipRow.id))
                )
                for clip_id, story_id, sig, shingles, title, outlet, hints, at in rows:
                    if clip_id in seen:  # a clip naming targets of two chunks comes once
                        continue
                    seen.add(clip_id)
                    if isinstance(at, str):  # SQLite hands back coalesce() as text
                        at = datetime.fromisoformat(at)
                    yield StoredSignature(clip_id, str(story_id), bytes(sig or b""), int(shingles or 0), title, outlet,
                                          tuple(hints or ()), at if at is None or at.tzinfo else at.replace(tzinfo=UTC))

    def place_clips(self, placements: Sequence[StoryPlacement], now: datetime) -> None:
        """Write the stories step's decisions: each clip's story, signature and outlet; new stories' rows."""
        with self.session() as s:
            rows: dict[str, ClipRow] = {}
            ids = [p.clip_id for p in placements]
            for i in range(0, len(ids), _BATCH):  # one SELECT per few hundred clips, not one per clip
                rows.update((r.id, r) for r in s.execute(select(ClipRow).where(col(ClipRow.id).in_(ids[i : i + _BATCH]))).scalars())
            fresh = [p.story_id for p in placements if p.new_story]
            joined: set[str] = set()
            existing: set[str] = set()
            for i in range(0, len(fresh), _BATCH):
                existing.update(s.execute(select(col(StoryRow.id)).where(col(StoryRow.id).in_(fresh[i : i + _BATCH]))).scalars())
            for p in placements:
                row = rows.get(p.clip_id)
                if row is None:  # merged away by the resolver meanwhile
                    continue
                if p.new_story:
                    if p.story_id not in existing:  # a story id is its first clip's id, which a URL may bring back
                        s.add(StoryRow(id=p.story_id, first_seen_at=now, updated_at=now))
                        existing.add(p.story_id)
                    row.story_primary = True
                elif row.story_id != p.story_id:
                    row.story_primary = False
                    joined.add(p.story_id)
                row.story_id = p.story_id
                row.outlet_domain = p.outlet_domain
                if p.hashvalues is not None:
                    row.story_sig, row.story_shingles = p.hashvalues, p.shingles
            if joined:
                s.execute(update(StoryRow).where(col(StoryRow.id).in_(sorted(joined))).values(updated_at=now))
                touch_primaries(s, joined, now)  # their website items gain an also_in entry

    def clip_targets(self, clip_ids: Sequence[str]) -> dict[str, tuple[list[str], list[str]]]:
        """Each clip's (member ids, campaign ids), staff's removals left out."""
        with self.session() as s:
            return _targets(s, list(dict.fromkeys(clip_ids)))

    def story_copies(self, story_ids: Sequence[str]) -> dict[str, list[StoryCopyInfo]]:
        out: dict[str, list[StoryCopyInfo]] = defaultdict(list)
        ids = list(dict.fromkeys(story_ids))
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        with self.session() as s:
            for i in range(0, len(ids), _BATCH):
                rows = s.execute(select(ClipRow, sort_at).where(col(ClipRow.story_id).in_(ids[i : i + _BATCH]))).all()
                targets = _targets(s, [r[0].id for r in rows])
                for row, at in rows:
                    if isinstance(at, str):
                        at = datetime.fromisoformat(at)
                    out[str(row.story_id)].append(StoryCopyInfo(
                        clip_id=row.id, at=at, outlet_domain=row.outlet_domain or "", primary=row.story_primary,
                        staff_touched=staff_touched(row), status=ClipStatus(row.status),
                        member_ids=tuple(sorted(set(targets[row.id][0]))),
                    ))
        return dict(out)

    def story_clip_ids(self, story_ids: Sequence[str]) -> dict[str, list[str]]:
        """Every copy's clip id, per story: what a story may have been delivered under (tracker.notify)."""
        out: dict[str, list[str]] = defaultdict(list)
        ids = list(dict.fromkeys(story_ids))
        with self.session() as s:
            for i in range(0, len(ids), _BATCH):
                for clip_id, story_id in s.execute(select(col(ClipRow.id), col(ClipRow.story_id))
                                                   .where(col(ClipRow.story_id).in_(ids[i : i + _BATCH]))):
                    out[str(story_id)].append(clip_id)
        return dict(out)

    def story_records(self, story_ids: Sequence[str]) -> dict[str, StoryRecord]:
        ids = list(dict.fromkeys(story_ids))
        out: dict[str, StoryRecord] = {}
        with self.session() as s:
            for i in range(0, len(ids), _BATCH):
                for r in s.execute(select(StoryRow).where(col(StoryRow.id).in_(ids[i : i + _BATCH]))).scalars():
                    out[r.id] = StoryRecord(r.id, r.first_seen_at, r.primary_by, r.primary_at)
        return out

    def set_rule_primaries(self, primaries: Mapping[str, str], now: datetime) -> None:
        """The rules' choice of primary for stories no staff member has chosen one for."""
        with self.session() as s:
            for story_id, clip_id in primaries.items():
                story = s.get(StoryRow, story_id)
                if story is None or story.primary_by is not None:
                    continue
                for row in s.execute(select(ClipRow).where(col(ClipRow.story_id) == story_id)).scalars():
                    row.story_primary = row.id == clip_id
                story.updated_at = now

    def switch_primary(self, story_id: str, clip_id: str, user: str, now: datetime, *, role: str | None = None) -> bool:
        """Staff choose which copy the website links. An approved story stays approved, now with this copy:
        the new primary takes the approval and the old one's place on the website (featured, position),
        and the old primary becomes a linked copy waiting in `new`. Otherwise each copy keeps its own
        decision: a copy approved on its own stays approved, and a primary staff rejected as not
        belonging stays rejected while the chosen copy goes to review. Changes are audited. False if
        unchanged."""
        with self.session() as s:
            story = s.get(StoryRow, story_id)
            chosen = s.get(ClipRow, clip_id)
            if story is None:
                raise NotFoundError(f"no story {story_id!r}")
            if chosen is None or chosen.story_id != story_id:
                raise NotFoundError(f"no clip {clip_id!r} in story {story_id!r}")
            story.primary_by, story.primary_at, story.updated_at = user, now, now
            if chosen.story_primary:
                return False
            old = s.execute(
                select(ClipRow).where(col(ClipRow.story_id) == story_id, col(ClipRow.story_primary).is_(True))
            ).scalars().first()
            chosen.story_primary = True
            chosen.updated_at = now
            if old is not None:
                old.story_primary = False
                old.updated_at = now
                if old.status == ClipStatus.APPROVED.value:
                    self._hand_over_approval(s, old, chosen, story_id, user, role, now)
            s.add(AuditRow(clip_id=chosen.id, user=user, role=role, action="primary", at=now,
                           detail=f"primary of story {story_id}" + (f" (was {old.id})" if old is not None else "")))
            return True

    @staticmethod
    def _hand_over_approval(s: Session, old: ClipRow, chosen: ClipRow, story_id: str, user: str, role: str | None,
                            now: datetime) -> None:
        """The website's item changes copy, not place: an editor making another copy primary never
        reorders or unfeatures the published list (that is an admin's)."""
        if chosen.status != ClipStatus.APPROVED.value:
            s.add(AuditRow(clip_id=chosen.id, user=user, role=role, action=ClipStatus.APPROVED.value, at=now,
                           detail=f"{chosen.status} -> approved (primary of story {story_id}, was {old.id})"))
            chosen.status, chosen.reviewed_by, chosen.reviewed_at = ClipStatus.APPROVED.value, user, now
        chosen.featured, chosen.position = old.featured, old.position
        chosen.version = ClipRow.version + 1  # a decision, as any other: an open edit is stale
        s.add(AuditRow(clip_id=old.id, user=user, role=role, action=ClipStatus.NEW.value, at=now,
                       detail=f"approved -> new (a linked copy now; primary is {chosen.id})"))
        old.status, old.reviewed_by, old.reviewed_at = ClipStatus.NEW.value, user, now
        old.featured, old.position = False, None
        old.version = ClipRow.version + 1

    def story_of(self, clip_id: str) -> str | None:
        with self.session() as s:
            row = s.get(ClipRow, clip_id)
            if row is None:
                raise NotFoundError(f"no clip {clip_id!r}")
            return row.story_id

    def story_ids_between(self, since: datetime | None, until: datetime | None) -> list[str]:
        """Stories with a copy dated in [since, until), newest first."""
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        with self.session() as s:
            q = select(col(ClipRow.story_id), func.max(sort_at).label("at")).where(col(ClipRow.story_id).is_not(None))
            if since is not None:
                q = q.where(sort_at >= since)
            if until is not None:
                q = q.where(sort_at < until)
            rows = s.execute(q.group_by(col(ClipRow.story_id)).order_by(func.max(sort_at).desc(), col(ClipRow.story_id))).all()
            return [str(r[0]) for r in rows]

    # ------------------------------------------------------------ outlets

    def outlet_records(self) -> dict[str, OutletRecord]:
        with self.session() as s:
            return {r.domain: _outlet_record(r) for r in s.execute(select(OutletRow)).scalars()}

    def note_outlet_names(self, names: Mapping[str, tuple[str, str]]) -> None:
        """Names seen for outlets, (name, source) by domain: a better-sourced name replaces a worse one,
        never staff's."""
        if not names:
            return
        wanted = sorted(d for d, (name, _) in names.items() if d and name)
        with self.session() as s:
            known: dict[str, OutletRow] = {}
            for i in range(0, len(wanted), _BATCH):
                known.update((r.domain, r) for r in s.execute(
                    select(OutletRow).where(col(OutletRow.domain).in_(wanted[i : i + _BATCH]))).scalars())
            for domain in wanted:
                name, source = names[domain]
                row = known.get(domain)
                if row is None:
                    s.add(OutletRow(domain=domain, name=name[:200], name_source=source))
                elif NAME_RANK.get(source, 0) > NAME_RANK.get(row.name_source, 0) or not row.name:
                    row.name, row.name_source = name[:200], source

    def edit_outlet(self, domain: str, edit: OutletEdit, user: str, now: datetime, *, role: str | None = None) -> OutletRecord:
        with self.session() as s:
            row = s.get(OutletRow, domain)
            if row is None:
                if not s.execute(select(func.count()).select_from(ClipRow).where(col(ClipRow.outlet_domain) == domain)).scalar_one():
                    raise NotFoundError(f"no outlet {domain!r}")
                row = OutletRow(domain=domain)
                s.add(row)
            changes = {}
            for attr in ("state", "place", "tier"):
                value = getattr(edit, attr)
                if value is not None:
                    new = value.strip() or None
                    if attr == "state" and new:
                        new = new.upper()
                    if getattr(row, attr) != new:
                        changes[attr] = new
                        setattr(row, attr, new)
            if edit.name is not None and edit.name.strip() and (edit.name.strip() != row.name or row.name_source != "staff"):
                row.name, row.name_source = edit.name.strip(), "staff"
                changes["name"] = row.name
            if changes:
                row.edited_by, row.edited_at = user, now
                s.add(AuditRow(clip_id="", user=user, role=role, action="outlet", at=now,
                               detail=f"{domain}: " + ", ".join(f"{k}={v!r}" for k, v in sorted(changes.items()))))
            s.flush()
            return _outlet_record(row)

    def rejected_with_their_primary(self, clip_ids: Sequence[str]) -> set[str]:
        """Which of these clips are untouched copies of a story whose primary staff rejected: coverage
        (Insights, reports) leaves them out as it leaves out the rejected clips."""
        ids, found = list(clip_ids), set[str]()
        with self.session() as s:
            for i in range(0, len(ids), _BATCH):
                found.update(s.execute(select(col(ClipRow.id)).where(
                    col(ClipRow.id).in_(ids[i:i + _BATCH]), rejected_with_its_primary())).scalars())
        return found

    def outlet_counts(self, since: datetime | None = None) -> dict[str, tuple[int, int]]:
        """(clips, stories) per outlet domain, rejected clips left out (the untouched copies of a rejected
        story too)."""
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        with self.session() as s:
            q = select(col(ClipRow.outlet_domain), func.count(), func.count(func.distinct(ClipRow.story_id))).where(
                col(ClipRow.outlet_domain).is_not(None), col(ClipRow.outlet_domain) != "",
                _counted(),
            )
            if since is not None:
                q = q.where(sort_at >= since)
            return {str(d): (int(c), int(n)) for d, c, n in s.execute(q.group_by(col(ClipRow.outlet_domain))).all()}

    def coverage_rows(self, since: datetime | None = None) -> list[tuple[str, str, str, str, datetime, str, str]]:
        """(clip_id, story, kind, target_id, date, outlet domain, outlet name) per mention of a clip not
        rejected (nor an untouched copy of a rejected story): Insights count stories and outlets by
        identity. A clip not placed yet is its own story."""
        sort_at = func.coalesce(ClipRow.published_at, ClipRow.first_seen_at)
        with self.session() as s:
            q = select(col(MentionRow.clip_id), func.coalesce(ClipRow.story_id, ClipRow.id), col(MentionRow.kind),
                       col(MentionRow.target_id), sort_at, func.coalesce(ClipRow.outlet_domain, ""),
                       func.coalesce(ClipRow.outlet_display, ClipRow.outlet)).join(
                ClipRow, col(ClipRow.id) == col(MentionRow.clip_id)
            ).where(_counted(), col(MentionRow.suppressed).is_(False))
            if since is not None:
                q = q.where(sort_at >= since)
            out = []
            for clip_id, story, kind, target, at, domain, name in s.execute(q).all():
                if isinstance(at, str):
                    at = datetime.fromisoformat(at)
                if at.tzinfo is None:
                    at = at.replace(tzinfo=UTC)
                out.append((clip_id, story, kind, target, at, domain, name or ""))
            return out

    def feed_titles(self) -> dict[str, str]:
        with self.session() as s:
            return {i: t for i, t in s.execute(select(col(FeedRow.id), col(FeedRow.title))).all()}

    def outlet_names_by_domain(self, domains: Sequence[str]) -> dict[str, str]:
        """The name each domain's clips carry most often (their feed's title or <source>)."""
        out: dict[str, str] = {}
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        ids = sorted(set(domains))
        with self.session() as s:
            for i in range(0, len(ids), _BATCH):
                for domain, name, n in s.execute(
                    select(col(ClipRow.outlet_domain), col(ClipRow.outlet), func.count())
                    .where(and_(col(ClipRow.outlet_domain).in_(ids[i : i + _BATCH]), col(ClipRow.outlet) != ""))
                    .group_by(col(ClipRow.outlet_domain), col(ClipRow.outlet))
                ).all():
                    counts[str(domain)][str(name)] = int(n)
        for domain, names in counts.items():
            out[domain] = max(names.items(), key=lambda kv: (kv[1], kv[0]))[0]
        return out


def _outlet_record(r: OutletRow) -> OutletRecord:
    return OutletRecord(domain=r.domain, name=r.name, name_source=r.name_source, state=r.state, place=r.place,
                        tier=r.tier, edited_by=r.edited_by, edited_at=r.edited_at)


__all__ = ["NAME_RANK", "STAFF_EDIT_FIELDS", "StoriesMixin", "rejected_with_its_primary", "staff_touched",
           "untouched_by_staff"]
