"""Whether the dashboard runs in demo mode: one rule, however demo mode is asked for.

Demo mode signs every visitor in as "demo" with no password, so it may open only the demo's
own database: a local SQLite file named `demo.db` (`data/demo.db` unless a database is given).
The rule is the same for `tracker dashboard --demo`, `streamlit run dashboard/app.py -- --demo`
and `TRACKER_DEMO=1`; the CLI and the dashboard's data module both ask `demo_mode` here.
A staff database is never called demo.db, so neither a stray environment variable nor a
mistyped flag can open one without a password.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath

from tracker.errors import TrackerError

DEMO_ENV = "TRACKER_DEMO"
DEMO_DB_NAME = "demo.db"
DEMO_DB_URL = f"sqlite:///data/{DEMO_DB_NAME}"

_YES = ("1", "true", "yes", "on")
_NO = ("", "0", "false", "no", "off")


def demo_requested(flag: bool, environ: Mapping[str, str]) -> bool:
    """Asked for by the --demo flag or the TRACKER_DEMO environment variable."""
    value = environ.get(DEMO_ENV, "").strip().lower()
    if value not in _YES + _NO:
        raise TrackerError(f"{DEMO_ENV}={environ[DEMO_ENV]!r}: use 1 to ask for demo mode, or unset it")
    return flag or value in _YES


def demo_db_url(given: str | None) -> str:
    """The database demo mode opens: the one given explicitly (--db, TRACKER_DATABASE_URL), else data/demo.db."""
    return given or DEMO_DB_URL


def is_demo_database(db_url: str) -> bool:
    """A local SQLite file named demo.db (not in memory, not a server)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db_url)
    except ArgumentError:
        return False
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return False
    if database.startswith("file:"):  # sqlite:///file:path?mode=ro&uri=true
        database = database[len("file:"):]
    return PurePath(database).name == DEMO_DB_NAME


def demo_mode(requested: bool, db_url: str) -> bool:
    """True when demo mode was asked for and db_url is the demo's database; asked for on any other: TrackerError."""
    if not requested:
        return False
    if not is_demo_database(db_url):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            shown = make_url(db_url).render_as_string(hide_password=True)
        except ArgumentError:
            shown = repr(db_url)
        raise TrackerError(
            f"demo mode signs everyone in without a password, so it runs only on a local SQLite file named "
            f"{DEMO_DB_NAME} (default {DEMO_DB_URL}), not {shown}: unset {DEMO_ENV} or drop --demo to sign in"
        )
    return True
