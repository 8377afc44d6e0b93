"""One error hierarchy: raised where the failure happens, caught once in the CLI
(one line, an exit code) and once per feed in ingest (recorded, the loop goes on)."""

from __future__ import annotations


class TrackerError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1


class ConfigError(TrackerError, ValueError):
    """feeds.yml (or a members CSV) is invalid; nothing runs."""

    exit_code = 2


class QueryError(ConfigError):
    """A campaign query does not parse; carries the position of the problem."""

    def __init__(self, message: str, query: str = "", position: int = 0) -> None:
        self.query = query
        self.position = position
        super().__init__(message)


class FetchError(TrackerError):
    """A feed or page could not be retrieved (network, HTTP status, size, type)."""

    def __init__(self, message: str, status: int | None = None, retry_after_s: float | None = None,
                 *, transient: bool = False) -> None:
        self.status = status
        self.retry_after_s = retry_after_s
        # Worth trying again later: a timeout, a connection that failed, HTTP 429 or 5xx. Everything
        # else (401/403/451, too big, not HTML, an internal address) will say the same next time.
        self.transient = transient or status == 429 or (status is not None and 500 <= status < 600)
        super().__init__(message)


class NotAWebAddress(FetchError):
    """An address staff pasted that no request can go to: a bracket left open, a host name with a
    label over 63 characters (the URL parsers' ValueError, said in words)."""

    def __init__(self, url: str) -> None:
        super().__init__(f"That is not a web address we can read: {url}")


class ParseError(TrackerError):
    """Fetched bytes are not a feed we can read anything from."""


class StorageError(TrackerError):
    """The database refused, or is unreachable / of an unsupported kind."""


class ExportError(StorageError):
    """A staff change or an ingest was saved, but an export file could not be written."""

    changed: int = 0  # how many clips the saved change touched, for the caller's message
    record: object = None  # a saved move's Undo (tracker.models.Undo), so the caller still offers it


class NotFoundError(TrackerError, LookupError):
    """A clip, feed or user that the caller named does not exist."""


class AuthError(TrackerError):
    """Sign-in failed or a user file is malformed."""


class NotifyError(TrackerError):
    """A digest or alert could not be delivered (mail server, webhook), or a report not rendered."""


class ReportError(TrackerError):
    """A coverage report could not be built or rendered (e.g. no PDF engine on this machine)."""


class PermissionDenied(TrackerError, PermissionError):
    """The user's role does not allow this action (viewer, editor, admin: tracker.roles)."""

    exit_code = 3


class StaleEditError(TrackerError):
    """A save made from a version of a clip that someone else has changed since: refused, never merged silently."""

    exit_code = 4
