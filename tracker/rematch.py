"""Matching applied to stored data: rematching clips and trying a draft rule.

tracker.match is the pure engine; this module feeds it the clips in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice

from tracker.clock import Clock, system_clock
from tracker.match import compile_matcher
from tracker.models import CampaignConfig, ClipStatus, Config, MemberConfig, Mention
from tracker.store import Store


@dataclass(frozen=True)
class RematchResult:
    clips_checked: int
    clips_gained: int
    clips_lost: int
    changes: tuple[str, ...]  # "clip-id: +member:x -campaign:y"


def rematch_store(config: Config, store: Store, *, since: datetime | None = None,
                  clock: Clock = system_clock) -> RematchResult:
    """Apply the current config to stored clips; manual mentions and staff decisions stay."""
    matcher = compile_matcher(config.members, config.campaigns)
    now = clock()
    checked = gained = lost = 0
    changes: list[str] = []
    for clip_id, item in store.clip_match_items(since):
        checked += 1
        mentions = matcher.match(item)
        plus, minus = store.replace_auto_mentions(clip_id, mentions, now)
        if plus:
            gained += 1
        if minus:
            lost += 1
        if plus or minus:
            changes.append(f"{clip_id}: " + " ".join([f"+{p}" for p in sorted(plus)] + [f"-{m}" for m in sorted(minus)]))
    return RematchResult(checked, gained, lost, tuple(changes))


@dataclass(frozen=True)
class RuleTrial:
    """What a draft member/campaign would do to stored clips (those staff rejected are left out)."""

    matches: tuple[str, ...]  # clip ids the draft matches
    gained: tuple[str, ...]  # … that the saved rule (same id) does not match today
    lost: tuple[str, ...]  # clip ids the saved rule matches and the draft would not
    snippets: dict[str, str]
    hits: dict[str, Mention] = field(default_factory=dict)  # the first hit per matched clip, for highlighting


def try_rule(config: Config, store: Store, draft: MemberConfig | CampaignConfig, *, limit: int = 5000) -> RuleTrial:
    """The dashboard's "test a rule": run one draft rule over stored clips, no writes."""
    kind = "member" if isinstance(draft, MemberConfig) else "campaign"
    if isinstance(draft, MemberConfig):
        # As the saved rule would run: under settings.surname_mentions, and beside the other members
        # (two sharing a surname and a place make "Mayor Cohen" neither of them).
        if not config.settings.surname_mentions:
            draft = replace(draft, surname_mentions=False)
        draft_matcher = compile_matcher([*(m for m in config.members if m.id != draft.id), draft], [])
    else:
        draft_matcher = compile_matcher([], [draft])
    scanned: list[str] = []
    found_in: dict[str, Mention] = {}
    for clip_id, item in islice(store.clip_match_items(), limit):
        scanned.append(clip_id)
        found = [m for m in draft_matcher.match(item) if m.kind == kind and m.target_id == draft.id]
        if found:
            found_in[clip_id] = found[0]
    # Both sides over the same clips, by the same rule: the clips scanned, less those staff rejected
    # (the stored side never counts those); else every clip past the limit read as "no longer matched".
    kept = {clip_id for clip_id, (_version, status) in store.clip_versions(scanned).items()
            if status is not ClipStatus.REJECTED}
    matches = [clip_id for clip_id in scanned if clip_id in found_in and clip_id in kept]
    hits = {clip_id: found_in[clip_id] for clip_id in matches}
    snippets = {clip_id: hit.snippet for clip_id, hit in hits.items()}
    saved_ids = store.clips_found_by_rule(kind, draft.id, sorted(kept))
    match_set = set(matches)
    return RuleTrial(
        matches=tuple(matches),
        gained=tuple(sorted(match_set - saved_ids)),
        lost=tuple(sorted(saved_ids - match_set)),
        snippets=snippets,
        hits=hits,
    )
