"""Stories over the Store: placing new clips (the ingest's stories step), naming outlets, the primary
copy, and the stories of a time range (for digests and the CLI).

    place_new_clips   clips without a story, oldest first, in batches: each batch's candidates are the
                      window's newest clips naming one of its members/campaigns (CANDIDATES_PER_TARGET
                      each), loaded as stored signatures into a StoryIndex; each clip joins the
                      story of the copy it is like, or starts one. Only new clips are placed: a
                      story never re-clusters.
    primaries         a story nobody on staff has decided for gets the rules' primary (the member's
                      local outlet, else the earliest copy); a reviewed or edited copy keeps its place.
    outlets           one per registrable domain, its state from staff, feeds.yml's outlets:, or the
                      state tags of the listed feeds on that domain.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tracker.models import (
    Actor,
    ClipFilter,
    ClipStatus,
    ClipView,
    Config,
    OutletEdit,
    OutletRecord,
    OutletView,
    StoryCopyInfo,
    StoryInput,
    StoryPlacement,
    StoryView,
)
from tracker.roles import Permission, require
from tracker.store import Store
from tracker.stories import (
    Copy,
    StoryIndex,
    choose_primary,
    outlet_domain,
    outlet_state,
    sign,
    story_text,
)
from tracker.stories.index import Candidate, NewClip
from tracker.stories.outlets import same_outlet_name
from tracker.stories.signature import Signature, headline_key

# New clips indexed at once: a cycle's are one batch; a first build reads the window once per batch.
BATCH = 5000
# A database upgraded with many clips is placed over a few cycles, so no cycle waits long for it.
PER_CYCLE = 20_000
# Candidates per member/campaign: its newest this many placed clips in the window. Reading candidates
# is the step's cost, and a busy member's window is thousands of clips; copies of a story run within a
# day or two, so only a copy arriving after this many newer clips about every member it names (a few
# days of the busiest member's coverage) starts a story of its own (README "How stories are formed").
CANDIDATES_PER_TARGET = 500
# Links through these are not the publisher's yet (the resolver has not looked them up): no outlet.
_SEARCH_DOMAINS = frozenset({"google.com", "bing.com", "msn.com"})


@dataclass(frozen=True)
class StoriesReport:
    placed: int = 0
    joined: int = 0  # of those, copies of a story already known
    stories_new: int = 0
    renamed: int = 0  # re-keyed clips whose outlet was named again
    seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class OutletInfo:
    state: str
    state_source: str
    place: str
    tier: str
    name: str


class OutletDirectory:
    """What is known about each outlet: the table's rows, feeds.yml's presets, the listed feeds' tags."""

    def __init__(self, config: Config | None, records: Mapping[str, OutletRecord]) -> None:
        self.records = records
        self.presets = {outlet_domain(f"https://{p.domain}/"): p for p in (config.outlets if config else ())}
        tags: dict[str, set[str]] = {}
        for feed in config.feeds if config else ():
            tags.setdefault(outlet_domain(feed.url), set()).update(feed.tags)
        self.feed_tags = tags

    def info(self, domain: str) -> OutletInfo:
        record = self.records.get(domain)
        preset = self.presets.get(domain)
        state, source = outlet_state(record.state if record else None, preset.state if preset else None,
                                     sorted(self.feed_tags.get(domain, ())))
        place = (record.place if record and record.place else None) or (preset.place if preset else "")
        tier = (record.tier if record and record.tier else None) or (preset.tier if preset else "")
        name = record.name if record and record.name_source == "staff" else ""
        name = name or (preset.name if preset else "") or (record.name if record else "") or domain
        return OutletInfo(state, source, place, tier, name)


def _domain(clip: StoryInput) -> str:
    domain = outlet_domain(clip.url)
    return "" if domain in _SEARCH_DOMAINS else domain


def place_new_clips(store: Store, config: Config | None, now: datetime, *, limit: int = PER_CYCLE,
                    batch: int = BATCH, per_target: int | None = CANDIDATES_PER_TARGET) -> StoriesReport:
    """The stories step: place every clip that has no story yet (at most `limit` this time), each
    against its members' and campaigns' newest `per_target` clips of the window (None: all of them)."""
    started = time.perf_counter()
    window = timedelta(days=config.settings.story_window_days if config else 14)
    members = {m.id: m for m in config.members} if config else {}
    placed = joined = new = renamed = 0
    first = True
    while placed + renamed < limit:
        todo = store.clips_to_place(min(batch, limit - placed - renamed))
        if not todo:
            break
        rekeyed = [c for c in todo if c.story_id is not None]
        fresh = [c for c in todo if c.story_id is None]
        placements = [StoryPlacement(c.id, c.story_id or c.id, _domain(c)) for c in rekeyed]
        renamed += len(rekeyed)
        batch_placements, batch_joined = _place(store, fresh, window, per_target)
        placements += batch_placements
        store.place_clips(placements, now)
        if first:  # the listed feeds name their own outlets, before their clips' names count
            _note_feed_names(store, config)
            first = False
        _note_names(store, fresh)
        # Stories that gained a copy, and those of copies the resolver re-keyed: a search copy's outlet
        # is known only now, and may be the member's local one (the primary must not depend on whether
        # the resolver ran before or after the copy was placed).
        touched = {p.story_id for p in batch_placements if not p.new_story} | {c.story_id for c in rekeyed if c.story_id}
        _elect_primaries(store, config, members, touched, now)
        placed += len(fresh)
        joined += batch_joined
        new += sum(1 for p in batch_placements if p.new_story)
        if len(todo) < batch:
            break
    return StoriesReport(placed, joined, new, renamed, time.perf_counter() - started)


def _place(store: Store, fresh: Sequence[StoryInput], window: timedelta,
           per_target: int | None) -> tuple[list[StoryPlacement], int]:
    """One batch: index its new clips, stream the window's candidates through the index, then place the
    new clips oldest first."""
    if not fresh:
        return [], 0
    # A search item whose description is its list of copies: the list is hints, not text.
    batch = [NewClip(c.id, sign(story_text(c.title, "" if c.related else c.summary, c.article, c.outlet)),
                     headline_key(c.title, c.outlet), _hint_keys(c.related), c.at) for c in fresh]
    index = StoryIndex(batch, window)
    since = min(c.at for c in fresh) - window
    targets = {("member", t) for c in fresh for t in c.member_ids} | {("campaign", t) for c in fresh for t in c.campaign_ids}
    chunk: list[Candidate] = []
    headlines = index.wants_headlines  # normalising every window headline costs more than the rest
    for stored in store.window_signatures(since, targets, exclude=[c.id for c in fresh], per_target=per_target):
        chunk.append(Candidate(stored.clip_id, stored.story_id, Signature(stored.hashvalues, stored.shingles),
                               headline_key(stored.title, stored.outlet) if headlines else "",
                               _hint_keys(stored.related), stored.at))
        if len(chunk) >= 5000:
            index.offer_many(chunk)
            chunk = []
    index.offer_many(chunk)
    guarded: dict[str, bool] = {}  # story id → does a staff-touched copy hold it (cached per batch)
    began: dict[str, datetime] = {}  # story id → its earliest copy (stored ones, and this batch's)

    def stored_story(story_id: str) -> None:
        if story_id not in guarded:
            copies = store.story_copies([story_id]).get(story_id, [])
            guarded[story_id] = any(c.staff_touched for c in copies)
            if copies:
                began[story_id] = min(c.at for c in copies)

    def held_by_staff(story_id: str, copies_here: Mapping[str, bool]) -> bool:
        stored_story(story_id)
        return guarded[story_id] or copies_here.get(story_id, False)

    def within_window(story_id: str, at: datetime) -> bool:
        """A story spans one window: a weekly notice joining last week's, which joined the week's
        before, would chain every notice into one story, and hide all but the first from review."""
        stored_story(story_id)
        start = began.get(story_id)
        return start is None or at - start <= window

    batch_targets = {c.id: (list(c.member_ids), list(c.campaign_ids)) for c in fresh}

    def same_subject(clip: StoryInput, like: str | None) -> bool:
        """A headline on a search item's list ties two clips only when they name one member or campaign:
        "City Council approves budget" is every city's headline."""
        if like is None:
            return False
        members, campaigns = batch_targets.get(like) or store.clip_targets([like]).get(like, ([], []))
        return bool(set(members) & set(clip.member_ids) or set(campaigns) & set(clip.campaign_ids))

    placements: list[StoryPlacement] = []
    touched_here: dict[str, bool] = {}
    joined = 0
    for i, clip in enumerate(fresh):
        story_id: str | None = None
        if clip.member_ids or clip.campaign_ids:
            found = index.place(i, hint_ok=functools.partial(same_subject, clip))
            # A copy staff reviewed or edited is never put under another copy staff decided on.
            if (found.story_id is not None and within_window(found.story_id, clip.at)
                    and not (clip.staff_touched and held_by_staff(found.story_id, touched_here))):
                story_id = found.story_id
        is_new = story_id is None
        story_id = story_id or clip.id
        joined += not is_new
        touched_here[story_id] = touched_here.get(story_id, False) or clip.staff_touched
        began[story_id] = min(began.get(story_id, clip.at), clip.at)
        index.placed(i, story_id)
        sig = batch[i].signature
        placements.append(StoryPlacement(clip.id, story_id, _domain(clip),
                                         sig.hashvalues if sig else None, sig.shingles if sig else 0, new_story=is_new))
    return placements, joined


def _hint_keys(related: Sequence[str]) -> tuple[str, ...]:
    return tuple(k for k in dict.fromkeys(headline_key(h) for h in related) if k)


def _note_names(store: Store, clips: Sequence[StoryInput]) -> None:
    """The name a clip came with (its feed's title, a search item's source) for outlets not named better."""
    names: dict[str, tuple[str, str]] = {}
    for clip in clips:
        domain = _domain(clip)
        if domain and clip.outlet and domain not in names:
            names[domain] = (clip.outlet, "source")
    store.note_outlet_names(names)


def _note_feed_names(store: Store, config: Config | None) -> None:
    """A listed feed's name (or its own title) names the outlet on the feed's domain."""
    if config is None or not config.feeds:
        return
    titles = store.feed_titles()
    names: dict[str, tuple[str, str]] = {}
    for feed in config.feeds:
        domain, name = outlet_domain(feed.url), feed.name or titles.get(feed.id, "")
        if domain and name and domain not in _SEARCH_DOMAINS:
            names.setdefault(domain, (name, "feed"))
    store.note_outlet_names(names)


def _elect_primaries(store: Store, config: Config | None, members: Mapping[str, object], story_ids: set[str],
                     now: datetime) -> None:
    """Re-choose the primary of stories that gained copies, unless staff hold the story."""
    if not story_ids:
        return
    directory = OutletDirectory(config, store.outlet_records())
    records = store.story_records(sorted(story_ids))
    chosen: dict[str, str] = {}
    for story_id, copies in store.story_copies(sorted(story_ids)).items():
        record = records.get(story_id)
        if record is None or record.primary_by is not None:
            continue
        choice = rule_primary(copies, directory, config)
        if choice is not None and not any(c.primary and c.clip_id == choice for c in copies):
            chosen[story_id] = choice
    store.set_rule_primaries(chosen, now)


def rule_primary(copies: Sequence[StoryCopyInfo], directory: OutletDirectory, config: Config | None) -> str | None:
    """The rules' primary: a staff-touched copy keeps (or takes) it; else the member's local outlet, else
    the earliest copy."""
    current = [c for c in copies if c.primary]
    if current and current[0].staff_touched:  # a primary staff rejected is the story rejected: kept
        return current[0].clip_id
    # Another copy staff rejected does not belong: it never takes the story's place (it would move the
    # whole story to Rejected and out of the queue).
    eligible = [c for c in copies if c.status is not ClipStatus.REJECTED] or list(copies)
    touched = [c for c in eligible if c.staff_touched]
    if touched:
        return min(touched, key=lambda c: (c.at, c.clip_id)).clip_id
    members = {m.id: m for m in config.members} if config else {}
    choices = []
    for c in eligible:
        info = directory.info(c.outlet_domain) if c.outlet_domain else OutletInfo("", "unknown", "", "", "")
        choices.append(Copy(c.clip_id, c.at, info.state, info.place, c.member_ids))
    return choose_primary(choices, members) if choices else None


# ------------------------------------------------------------------ what staff and other parts call


def stories_between(store: Store, since: datetime | None, until: datetime | None,
                    f: ClipFilter = ClipFilter()) -> list[StoryView]:
    """Stories with a copy matching `f` dated in [since, until), newest first, each with all its copies
    (primary first). A clip not placed yet is a story of its own. For digests, reports and the CLI."""
    clips = store.all_clips(replace(f, since=since, until=until, primary_only=False))
    seen: dict[str, None] = {}
    alone: dict[str, ClipView] = {}
    for clip in clips:
        if clip.story_id is None:
            alone[clip.id] = clip
            seen[clip.id] = None
        else:
            seen[clip.story_id] = None
    out: list[StoryView] = []
    records = store.story_records([k for k in seen if k not in alone])
    for key in seen:
        if key in alone:
            out.append(StoryView(key, (alone[key],)))
            continue
        copies = store.all_clips(ClipFilter(story_id=key))
        copies.sort(key=lambda c: (not c.primary, c.published_at or c.first_seen_at, c.id))
        record = records.get(key)
        out.append(StoryView(key, tuple(copies), record.primary_by if record else None))
    return out


def story(store: Store, story_id: str) -> StoryView:
    from tracker.errors import NotFoundError

    copies = store.all_clips(ClipFilter(story_id=story_id))
    if not copies:
        raise NotFoundError(f"no story {story_id!r}")
    copies.sort(key=lambda c: (not c.primary, c.published_at or c.first_seen_at, c.id))
    record = store.story_records([story_id]).get(story_id)
    return StoryView(story_id, tuple(copies), record.primary_by if record else None)


def outlets(store: Store, config: Config | None, since: datetime | None = None) -> list[OutletView]:
    """Every outlet with clips (and every preset one), most clips first."""
    counts = store.outlet_counts(since)
    records = store.outlet_records()
    directory = OutletDirectory(config, records)
    domains = set(counts) | set(directory.presets)
    out = []
    for domain in domains:
        info = directory.info(domain)
        clips, stories_ = counts.get(domain, (0, 0))
        record = records.get(domain)
        out.append(OutletView(domain, info.name, info.state, info.state_source, info.place, info.tier,
                              clips, stories_, record.edited_by if record else None))
    out.sort(key=lambda o: (-o.clips, o.domain))
    return out


def edit_outlet(store: Store, domain: str, edit: OutletEdit, user: Actor | str, now: datetime) -> OutletRecord:
    """Staff's corrections of an outlet (name, state, place, tier): editors and admins (tracker.roles)."""
    from tracker.errors import ConfigError
    from tracker.stories.outlets import TIERS, US_STATES

    actor = require(user, Permission.EDIT)
    if edit.tier and edit.tier not in TIERS:
        raise ConfigError(f"tier must be one of {', '.join(TIERS)}, got {edit.tier!r}")
    if edit.state and edit.state.strip().lower() not in US_STATES:
        raise ConfigError(f"state must be a US state code (PA, NY…), got {edit.state!r}")
    return store.edit_outlet(domain, edit, actor.name, now, role=actor.role.value)


def coverage_rows(store: Store, config: Config | None, since: datetime | None) -> list[tuple[str, str, str, str, datetime, str]]:
    """(clip_id, story, kind, target_id, date, outlet) per mention, the outlet by identity: its display
    name when the clip's domain is known ('Inquirer' and 'The Philadelphia Inquirer' count once)."""
    directory = OutletDirectory(config, store.outlet_records())
    names: dict[str, str] = {}
    out = []
    for clip_id, story_id, kind, target, at, domain, name in store.coverage_rows(since):
        if domain:
            if domain not in names:
                names[domain] = directory.info(domain).name
            name = names[domain]
        out.append((clip_id, story_id, kind, target, at, name))
    return out


def outlet_for_name(store: Store, name: str) -> str | None:
    """The one known outlet a display name means ('Inquirer' → inquirer.com), or None if unsure."""
    found = {d for d, r in store.outlet_records().items() if same_outlet_name(r.name, name)}
    return found.pop() if len(found) == 1 else None


__all__ = ["CANDIDATES_PER_TARGET", "OutletDirectory", "StoriesReport", "coverage_rows", "edit_outlet", "outlet_for_name", "outlets", "place_new_clips",
           "rule_primary", "stories_between", "story"]
