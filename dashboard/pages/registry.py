"""Members & campaigns: the registry from feeds.yml, and a safe place to try a rule before editing it."""

from __future__ import annotations

import pandas as pd  # type: ignore[import-untyped]
import streamlit as st

from dashboard import data, ui
from dashboard.keys import Key
from tracker.errors import ConfigError
from tracker.models import CampaignConfig, MemberConfig, Term

ui.page_notices("registry")
st.title("Members & campaigns")
# inside a code span Markdown escapes are shown literally, so only backticks need removing
st.caption(f"Read from `{data.config_path().replace('`', '')}`. Edit that file to change who and what is tracked, "
           "then run `tracker rematch` to apply the change to stored clips.")

members = data.members()
campaigns = data.campaigns()
coverage = data.coverage(90)
counts = coverage.groupby(["kind", "target_id"])["clip_id"].nunique().to_dict() if not coverage.empty else {}

members_tab, campaigns_tab, trial_tab = st.tabs(
    [f"Members ({len(members)})", f"Campaigns ({len(campaigns)})", "Test a rule"]
)
with members_tab:
    if not members:
        st.info("No members configured: add a `members:` section (or `members_file:`) to feeds.yml.")
    else:
        # The rule columns first, so they are on screen without scrolling sideways; who the member is after.
        st.dataframe(
            pd.DataFrame([
                {"name": m.name, "aliases": ", ".join(m.aliases) or "—",
                 "require any": ", ".join(t.text for t in m.require_any) or "—",
                 "exclude": ", ".join(t.text for t in m.exclude) or "—",
                 "clips (90 days)": counts.get(("member", m.id), 0), "title": m.title or "—",
                 "jurisdiction": m.jurisdiction or "—", "state": m.state or "—", "id": m.id}
                for m in members
            ]),
            hide_index=True, width="stretch",
            column_config={"name": st.column_config.TextColumn(width="medium"),
                           "aliases": st.column_config.TextColumn(width="medium"),
                           "require any": st.column_config.TextColumn(width="medium"),
                           "exclude": st.column_config.TextColumn(width="small"),
                           "clips (90 days)": st.column_config.NumberColumn(width="small")},
        )
with campaigns_tab:
    if not campaigns:
        st.info("No campaigns configured: add a `campaigns:` section to feeds.yml.")
    else:
        st.dataframe(
            pd.DataFrame([
                {"name": c.name, "keywords": ", ".join(t.text for t in c.keywords) or "—", "query": c.query or "—",
                 "require any": ", ".join(t.text for t in c.require_any) or "—",
                 "exclude": ", ".join(t.text for t in c.exclude) or "—",
                 "clips (90 days)": counts.get(("campaign", c.id), 0), "id": c.id}
                for c in campaigns
            ]),
            hide_index=True, width="stretch",
            column_config={"name": st.column_config.TextColumn(width="medium"),
                           "keywords": st.column_config.TextColumn(width="medium"),
                           "query": st.column_config.TextColumn(width="medium"),
                           "require any": st.column_config.TextColumn(width="small"),
                           "exclude": st.column_config.TextColumn(width="small"),
                           "clips (90 days)": st.column_config.NumberColumn(width="small")},
        )


def _terms(text: str) -> tuple[Term, ...]:
    return tuple(Term(t.strip()) for t in text.replace("\n", ",").split(",") if t.strip())


def _load_base() -> None:
    """Fill the form from an existing member/campaign, so staff tweak rather than retype."""
    chosen = st.session_state.get(Key.R_BASE)
    kind = st.session_state.get(Key.R_KIND, "member")
    found = next((x for x in (members if kind == "member" else campaigns) if x.id == chosen), None)
    if isinstance(found, MemberConfig):
        st.session_state[Key.R_NAME] = found.name
        st.session_state[Key.R_TERMS] = ", ".join(found.aliases)
        st.session_state[Key.R_QUERY] = ""
        st.session_state[Key.R_REQUIRE] = ", ".join(t.text for t in found.require_any)
        st.session_state[Key.R_EXCLUDE] = ", ".join(t.text for t in found.exclude)
    elif isinstance(found, CampaignConfig):
        st.session_state[Key.R_NAME] = found.name
        st.session_state[Key.R_TERMS] = ", ".join(t.text for t in found.keywords)
        st.session_state[Key.R_QUERY] = found.query or ""
        st.session_state[Key.R_REQUIRE] = ", ".join(t.text for t in found.require_any)
        st.session_state[Key.R_EXCLUDE] = ", ".join(t.text for t in found.exclude)


with trial_tab:
    st.caption("Try a draft rule against stored clips. Nothing is saved; compare with what the saved rule "
               "of the same id matches today.")
    kind = st.segmented_control("Kind", ["member", "campaign"], key=Key.R_KIND, default="member",
                                format_func=str.capitalize) or "member"
    pool = members if kind == "member" else campaigns
    st.selectbox("Start from", [x.id for x in pool], index=None, key=Key.R_BASE, on_change=_load_base,
                 placeholder="A new rule", format_func=lambda i: next((x.name for x in pool if x.id == i), i))
    st.text_input("Name", key=Key.R_NAME)
    st.text_input("Aliases" if kind == "member" else "Keywords", key=Key.R_TERMS, help="Comma-separated")
    if kind == "campaign":
        st.text_input("Query", key=Key.R_QUERY, placeholder='"good cause" NEAR/3 evict*')
    r1, r2 = st.columns(2)
    r1.text_input("Require any of", key=Key.R_REQUIRE, help="Context words: at least one must appear")
    r2.text_input("Exclude", key=Key.R_EXCLUDE, help="If any appears, no match")
    if st.button("Test rule", key=Key.R_RUN, type="primary", icon=":material/science:"):
        get = st.session_state.get
        name = (get(Key.R_NAME) or "").strip()
        base_id = get(Key.R_BASE) or ""
        try:
            draft: MemberConfig | CampaignConfig
            if kind == "member":
                if not name:
                    raise ConfigError("a member needs a name")
                draft = MemberConfig(id=base_id or name.lower().replace(" ", "-"), name=name,
                                     aliases=tuple(t.text for t in _terms(get(Key.R_TERMS) or "")),
                                     require_any=_terms(get(Key.R_REQUIRE) or ""), exclude=_terms(get(Key.R_EXCLUDE) or ""))
            else:
                keywords = _terms(get(Key.R_TERMS) or "")
                query = (get(Key.R_QUERY) or "").strip() or None
                if not keywords and not query:
                    raise ConfigError("a campaign needs keywords or a query")
                draft = CampaignConfig(id=base_id or name.lower().replace(" ", "-") or "draft", name=name or "draft",
                                       keywords=keywords, query=query, require_any=_terms(get(Key.R_REQUIRE) or ""),
                                       exclude=_terms(get(Key.R_EXCLUDE) or ""))
            trial = data.test_rule(draft)
        except ConfigError as exc:
            st.error(f"That rule does not work yet: {ui.md_escape(str(exc))}")
        else:
            m1, m2, m3 = st.columns(3)
            m1.metric("Clips matched", len(trial.matches))
            m2.metric("Newly matched", len(trial.gained), help="Matched by the draft but not by the saved rule")
            m3.metric("No longer matched", len(trial.lost), help="Matched by the saved rule but not the draft")
            if trial.matches:
                st.markdown("**Examples**")
                st.html(ui.rule_examples_html(data.clips(trial.matches[:8]), trial.hits))
            else:
                st.caption("The draft matches no stored clip.")
