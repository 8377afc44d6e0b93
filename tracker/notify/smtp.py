"""Sending mail: credentials from the environment or Streamlit's secrets, never from feeds.yml or the logs."""

from __future__ import annotations

import os
import smtplib
import ssl
import tomllib
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path

from tracker.errors import NotifyError
from tracker.models import SmtpConfig

# Where Streamlit itself looks for secrets.toml: the working folder's, then the user's.
SECRETS_PATHS = (Path(".streamlit") / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml")


def smtp_credentials(smtp: SmtpConfig, env: Mapping[str, str] | None = None,
                     secrets_paths: Sequence[Path] = SECRETS_PATHS) -> tuple[str, str] | None:
    """(username, password) from the environment variables the config names, else from [smtp] in
    secrets.toml; None when neither has them (a relay that takes mail without signing in)."""
    env = os.environ if env is None else env
    user, password = env.get(smtp.username_env, ""), env.get(smtp.password_env, "")
    if user and password:
        return user, password
    for path in secrets_paths:
        try:
            section = tomllib.loads(path.read_text(encoding="utf-8")).get("smtp", {})
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        if isinstance(section, dict) and section.get("username") and section.get("password"):
            return str(section["username"]), str(section["password"])
    return None


def send_message(smtp: SmtpConfig, message: EmailMessage, credentials: tuple[str, str] | None) -> None:
    """Hand one message to the server. Every failure is one NotifyError line that names the server,
    never the credentials."""
    where = f"{smtp.host}:{smtp.port}"
    try:
        client: smtplib.SMTP
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        with client:
            if smtp.security == "starttls":
                _starttls(client, where)
            if credentials is not None:
                _login(client, credentials, where)
            _send(client, message, where)
    except smtplib.SMTPAuthenticationError as exc:
        raise NotifyError(f"mail server {where} refused the sign-in ({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise NotifyError(f"mail server {where} refused the recipient(s) {', '.join(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise NotifyError(f"mail server {where} answered {exc.smtp_code} {text.strip()[:200]}") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise NotifyError(f"cannot send through {where}: {exc.__class__.__name__}: {str(exc)[:200]}") from None


def _starttls(client: smtplib.SMTP, where: str) -> None:
    try:
        client.starttls(context=ssl.create_default_context())
    except smtplib.SMTPNotSupportedError:
        raise NotifyError(f"mail server {where} does not offer STARTTLS (set notify.smtp.security)") from None


def _login(client: smtplib.SMTP, credentials: tuple[str, str], where: str) -> None:
    try:
        client.login(*credentials)
    except smtplib.SMTPNotSupportedError:
        raise NotifyError(f"mail server {where}: SMTP AUTH extension not supported by server (credentials are set: "
                          "unset them for a relay that takes mail without signing in)") from None
    except UnicodeError:
        # smtplib's own message quotes the character and its position: never repeat it.
        raise NotifyError(f"mail server {where}: the SMTP user name and password must be ASCII") from None


def _send(client: smtplib.SMTP, message: EmailMessage, where: str) -> None:
    try:
        client.send_message(message)
    except smtplib.SMTPNotSupportedError:  # smtplib raises it only for non-ASCII addresses
        raise NotifyError(f"mail server {where} does not accept non-ASCII addresses (SMTPUTF8)") from None
