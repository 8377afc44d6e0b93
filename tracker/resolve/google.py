"""Google News' protocol for current-style article ids (pure: bytes in, values out).

1. GET <base>/rss/articles/<id>?hl=…&gl=…&ceid=…: an HTML page whose `c-wiz > div[jscontroller]`
   carries data-n-a-sg (a signature) and data-n-a-ts (a timestamp) for that id.
2. POST <base>/_/DotsSplashUi/data/batchexecute, form field f.req =
   [[["Fbv4je", "<json: ["garturlreq", CONTEXT, id, timestamp, signature]>", null, "<request id>"], …]]
   with any number of ids; the reply is `)]}'`, then JSON (sometimes in length-prefixed chunks)
   whose rows ["wrb.fr", "Fbv4je", "[\"garturlres\",\"<publisher url>\",1]", …, "<request id>"]
   carry one URL each.

CONTEXT is the array that public decoders (googlenewsdecoder, its ports) send; Google does not
document any of this and may change it at any time (README, "Search coverage").
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from tracker.resolve.links import publisher_url_ok

PAGE_PATH = "/rss/articles/{id}"
BATCH_PATH = "/_/DotsSplashUi/data/batchexecute"
RPC_ID = "Fbv4je"
DEFAULT_LOCALE = ("en-US", "US", "US:en")  # hl, gl, ceid when the link names none
_XSSI_PREFIX = ")]}'"


@dataclass(frozen=True)
class Signed:
    """What the article page hands out for one id: enough to ask batchexecute for its URL."""

    article_id: str
    signature: str
    timestamp: str


def locale_of(link: str) -> tuple[str, str, str]:
    """hl, gl and ceid from a Google News link's query, defaults for what it lacks."""
    found = {k: v for k, v in parse_qsl(urlsplit(link).query) if k in ("hl", "gl", "ceid") and v}
    hl, gl, ceid = DEFAULT_LOCALE
    return found.get("hl", hl), found.get("gl", gl), found.get("ceid", ceid)


def page_url(base: str, article_id: str, link: str) -> str:
    """The article page that carries the signature; /articles/ and /read/ answer scripts with a redirect."""
    hl, gl, ceid = locale_of(link)
    return (f"{base.rstrip('/')}{PAGE_PATH.format(id=article_id)}"
            f"?hl={quote(hl, safe='')}&gl={quote(gl, safe='')}&ceid={quote(ceid, safe='')}")


def batch_url(base: str) -> str:
    return base.rstrip("/") + BATCH_PATH


def read_signature(article_id: str, html: bytes) -> Signed | None:
    """The signature and timestamp on an article page; None when the page has none (consent, script wall)."""
    import lxml.html  # here: only the resolver needs it, and the parse processes import this package

    try:
        root = lxml.html.document_fromstring(html, parser=lxml.html.HTMLParser())  # never the shared default
    except (ValueError, TypeError, lxml.etree.ParserError):  # empty or not HTML at all
        return None
    for node in root.xpath("//c-wiz/div[@jscontroller]"):
        signature, timestamp = node.get("data-n-a-sg"), node.get("data-n-a-ts")
        if signature and timestamp:
            return Signed(article_id, signature.strip(), timestamp.strip())
    return None


def _context(ceid: str) -> list[Any]:
    return [["X", "X", ["X", "X"], None, None, 1, 1, ceid, None, 1, None, None, None, None, None, 0, 1],
            "X", "X", 1, [1, 1, 1], 1, 1, None, 0, 0, None, 0]


def batch_form(signed: Sequence[Signed], ceid: str = DEFAULT_LOCALE[2]) -> dict[str, str]:
    """The form for one batchexecute POST; request ids are 1, 2, … in the order given."""
    calls = []
    for n, s in enumerate(signed, start=1):
        timestamp: int | str = int(s.timestamp) if s.timestamp.isdigit() else s.timestamp
        inner = ["garturlreq", _context(ceid), s.article_id, timestamp, s.signature]
        calls.append([RPC_ID, json.dumps(inner, separators=(",", ":")), None, str(n)])
    return {"f.req": json.dumps([calls], separators=(",", ":"))}


def _json_values(text: str) -> Iterator[Any]:
    """Every JSON value in a reply: one array, or chunks each preceded by its length (skipped)."""
    decoder = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return
        try:
            value, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return  # a cut-off tail: keep what came before it
        if not isinstance(value, int | float):  # a chunk's length
            yield value


def _rows(value: Any) -> Iterator[list[Any]]:
    if isinstance(value, list):
        if len(value) >= 3 and value[0] == "wrb.fr":
            yield value
        else:
            for item in value:
                yield from _rows(item)


def read_batch_reply(body: bytes, count: int) -> dict[int, str]:
    """Publisher URLs by position (0-based) of the ids sent; ids Google gave no usable URL for are absent.

    Rows are matched by the request id we sent; if Google leaves it out, by order.
    """
    text = body.decode("utf-8", errors="replace").lstrip()
    if text.startswith(_XSSI_PREFIX):
        text = text[len(_XSSI_PREFIX):]
    found: dict[int, str] = {}
    unnamed: list[str | None] = []
    for value in _json_values(text):
        for row in _rows(value):
            if row[1] != RPC_ID or not isinstance(row[2], str):
                continue
            try:
                payload = json.loads(row[2])
            except json.JSONDecodeError:
                payload = None
            url = payload[1] if (isinstance(payload, list) and len(payload) > 1 and payload[0] == "garturlres"
                                 and isinstance(payload[1], str) and publisher_url_ok(payload[1])) else None
            request_id = next((cell for cell in reversed(row[3:]) if isinstance(cell, str) and cell), None)
            if request_id is not None and request_id.isdigit() and 1 <= int(request_id) <= count:
                if url is not None:
                    found[int(request_id) - 1] = url
            else:
                unnamed.append(url)
    if not found and len(unnamed) == count:
        found = {i: url for i, url in enumerate(unnamed) if url is not None}
    return found


__all__ = [
    "BATCH_PATH", "DEFAULT_LOCALE", "PAGE_PATH", "RPC_ID", "Signed", "batch_form", "batch_url", "locale_of",
    "page_url", "read_batch_reply", "read_signature",
]
