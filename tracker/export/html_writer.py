"""HTML cards like the website's "In The News" section, and a standalone preview page.

Markup per card (optional parts are left out, never emitted empty):

    <article class="itn-card [itn-featured]" data-clip-id data-members data-campaigns>
      <figure class="itn-figure"><img src alt loading="lazy"><figcaption>credit</figcaption></figure>
      <h3 class="itn-headline"><a href rel="noopener" target="_blank">headline</a></h3>
      <p class="itn-meta"><span class="itn-outlet">outlet</span> · <time datetime>date</time></p>
      <p class="itn-blurb">blurb</p>
    </article>
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from importlib import resources

from tracker.export.items import ExportItem, prepare_item
from tracker.export.registry import Registry, SiteInfo
from tracker.export.sanitize import human_date, iso_utc
from tracker.models import ClipView

PREVIEW_CSS_FILE = "preview.css"


def _e(text: str) -> str:
    return escape(text, quote=True)


def _card(item: ExportItem) -> str:
    classes = "itn-card itn-featured" if item.featured else "itn-card"
    attrs = f'class="{classes}" data-clip-id="{_e(item.id)}"'
    if item.members:
        attrs += f' data-members="{_e(" ".join(m.id for m in item.members))}"'
    if item.campaigns:
        attrs += f' data-campaigns="{_e(" ".join(c.id for c in item.campaigns))}"'
    lines = [f"<article {attrs}>"]
    if item.image:
        caption = f"<figcaption>{_e(item.image.credit)}</figcaption>" if item.image.credit else ""
        lines.append(
            f'  <figure class="itn-figure"><img src="{_e(item.image.url)}"'
            f' alt="{_e(item.image.alt)}" loading="lazy">{caption}</figure>'
        )
    headline = _e(item.headline)
    if item.url:
        headline = f'<a href="{_e(item.url)}" rel="noopener" target="_blank">{headline}</a>'
    # dir="auto" lets an Arabic or Hebrew headline lay itself out right-to-left and,
    # because [dir] elements are bidi-isolated, keeps stray bidi controls inside.
    lines.append(f'  <h3 class="itn-headline" dir="auto">{headline}</h3>')
    date = f'<time datetime="{iso_utc(item.published_at)}">{human_date(item.published_at)}</time>'
    meta = (
        f'<span class="itn-outlet" dir="auto">{_e(item.outlet)}</span> · {date}'
        if item.outlet
        else date
    )
    lines.append(f'  <p class="itn-meta">{meta}</p>')
    if item.blurb:
        lines.append(f'  <p class="itn-blurb" dir="auto">{_e(item.blurb)}</p>')
    lines.append("</article>")
    return "\n".join(lines)


def render_card(clip: ClipView, registry: Registry) -> str:
    """One clip's card, exactly as in the export (the dashboard's live preview)."""
    return _card(prepare_item(clip, registry))


def render_fragment(clips: Sequence[ClipView], registry: Registry) -> str:
    cards = "\n".join(render_card(clip, registry) for clip in clips)
    return (
        f'<section class="in-the-news">\n{cards}\n</section>\n'
        if cards
        else '<section class="in-the-news"></section>\n'
    )


def render_html(clips: Sequence[ClipView], registry: Registry, site: SiteInfo) -> bytes:
    """The fragment only: the site supplies page, fonts and styles around it."""
    return render_fragment(clips, registry).encode("utf-8")


def preview_css() -> str:
    return resources.files("tracker.export").joinpath(PREVIEW_CSS_FILE).read_text(encoding="utf-8")


def render_preview_page(
    clips: Sequence[ClipView], registry: Registry, site: SiteInfo | None = None
) -> str:
    """A standalone page around the fragment, for staff to check before publishing."""
    site = site or SiteInfo()
    # The page is opened from disk or the dashboard: forbid scripts outright, so even
    # an escaping bug could not run feed-supplied code.
    csp = "default-src 'none'; img-src http: https:; style-src 'unsafe-inline'"
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(site.title)}</title>\n"
        f"<style>\n{preview_css()}</style>\n</head>\n<body>\n"
        f'<h2 class="itn-title">{_e(site.title)}</h2>\n'
        f"{render_fragment(clips, registry)}</body>\n</html>\n"
    )
