"""What the notify tests share: a config, clips made to order, a real SMTP server and a webhook
receiver on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tracker.config import parse_config
from tracker.models import ClipStatus, Config, MatchedEntry, Mention, ParsedEntry, StoryPlacement
from tracker.normalize import canonical_url, clip_id_for
from tracker.store import Store

DASHBOARD = "https://desk.example.org"
MEMBERS = [
    {"id": "kendra-brooks", "name": "Kendra Brooks", "state": "PA", "chapter": "Philadelphia"},
    {"id": "rui-sun", "name": "Rui Sun", "state": "NY", "chapter": "New York"},
]
CAMPAIGNS = [
    {"id": "good-cause", "name": "Good Cause Eviction", "keywords": ["good cause eviction"]},
    {"id": "fair-fares", "name": "Fair Fares", "keywords": ["fair fares"]},
]


def config_data(notify: dict[str, Any] | None = None, **settings: Any) -> dict[str, Any]:
    return {"settings": {"dashboard_url": DASHBOARD, **settings}, "members": MEMBERS, "campaigns": CAMPAIGNS,
            "notify": notify or {}}


def make_config(notify: dict[str, Any] | None = None, **settings: Any) -> Config:
    return parse_config(config_data(notify, **settings))


def add_clip(store: Store, slug: str, at: datetime, *, members: Sequence[str] = (), campaigns: Sequence[str] = (),
             outlet: str = "The Inquirer", status: ClipStatus = ClipStatus.NEW, published_at: datetime | None = None,
             title: str | None = None, feed_id: str = "paper", link: str | None = None) -> str:
    link = link or f"https://news.example.org/{slug}"
    canonical = canonical_url(link)
    entry = ParsedEntry(title=title or f"Headline {slug}", link=link, guid=link, summary=f"Summary of {slug}.",
                        content="", published_at=published_at or at, source_outlet=outlet)
    mentions = tuple(
        [Mention("member", m, m, "summary", f"evidence for {m} in {slug}") for m in members]
        + [Mention("campaign", c, c, "title", f"evidence for {c} in {slug}") for c in campaigns]
    )
    clip_id = clip_id_for(canonical)
    store.store_entries(feed_id, [MatchedEntry(entry, canonical, clip_id, mentions)], at)
    if status != ClipStatus.NEW:
        store.set_status([clip_id], status, "tester", at)
    return clip_id


def add_story(store: Store, slug: str, at: datetime, **clip: Any) -> str:
    """A clip as a cycle leaves it once its stories step ran: placed, here as a story of its own
    (a digest holds back a fresh clip not placed yet)."""
    clip_id = add_clip(store, slug, at, **clip)
    store.place_clips([StoryPlacement(clip_id, clip_id, "news.example.org", new_story=True)], at)
    return clip_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ SMTP


@dataclass
class Inbox:
    """Messages the SMTP server accepted, with the envelope, and the sign-ins it saw."""

    port: int
    messages: list[tuple[str, tuple[str, ...], EmailMessage]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for _, rcpt, m in self.messages if address in rcpt]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.inbox.messages.append((envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 OK"


@contextmanager
def smtp_server(port: int | None = None, *, auth: bool = False, smtputf8: bool = True) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; with `auth`, it requires a sign-in (over plain text:
    tests only) and records the credentials it was given; without `smtputf8`, it takes ASCII addresses only."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    inbox = Inbox(port or free_port())

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        inbox.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True)

    kwargs: dict[str, Any] = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False} if auth else {}
    kwargs["enable_SMTPUTF8"] = smtputf8
    controller = Controller(_Handler(inbox), hostname="127.0.0.1", port=inbox.port, **kwargs)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def smtp_notify(port: int, digests: list[dict[str, Any]], **smtp: Any) -> dict[str, Any]:
    return {"smtp": {"host": "127.0.0.1", "port": port, "security": "none", "sender": "clips@example.org",
                     "timeout_s": 5, **smtp}, "digests": digests}


# ------------------------------------------------------------------ webhooks


@dataclass
class Hook:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200

    def texts(self) -> list[str]:
        return [p.get("text", "") for p in self.posts]


@contextmanager
def webhook_server() -> Iterator[Hook]:
    hook = Hook("")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                status = hook.statuses.pop(0) if hook.statuses else 200
                if status == 200:
                    hook.posts.append(json.loads(body))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000/secret"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
