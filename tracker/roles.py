"""Who may do what: viewers read; editors also review, edit and add clips by URL; admins also set
the published order and featured clips, and manage users and settings. Pure.

Enforced here, in the functions the dashboard and the CLI call (tracker.review, tracker.enrich,
tracker.users), not only by hiding buttons: a refused action raises PermissionDenied. A bare name
instead of an Actor is someone at the server's shell (the CLI without --user, scripts): they can
edit the database and feeds.yml anyway, so they act as admin, as everyone did before roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from tracker.errors import PermissionDenied
from tracker.models import Actor, Role, RolesConfig

__all__ = ["Actor", "Permission", "Role", "as_actor", "can", "require", "role_for_email"]


class Permission(StrEnum):
    REVIEW = "approve, reject or unpublish clips"
    EDIT = "edit clips"
    ADD = "add clips by URL"
    PUBLISH_ORDER = "change the published order or featured clips"
    USERS = "manage users"
    SETTINGS = "change settings"


_EDITOR = frozenset({Permission.REVIEW, Permission.EDIT, Permission.ADD})
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset(),
    Role.EDITOR: _EDITOR,
    Role.ADMIN: frozenset(Permission),
}


def as_actor(user: Actor | str) -> Actor:
    return user if isinstance(user, Actor) else Actor(user, Role.ADMIN)


def can(user: Actor | str, permission: Permission) -> bool:
    return permission in GRANTS[as_actor(user).role]


def require(user: Actor | str, permission: Permission) -> Actor:
    """The actor, if their role allows permission; else PermissionDenied saying which role would."""
    actor = as_actor(user)
    if permission not in GRANTS[actor.role]:
        needed = next(r for r in Role if permission in GRANTS[r])
        article = "an" if actor.role.value[:1] in "aeiou" else "a"  # "an editor", "an admin", "a viewer"
        raise PermissionDenied(f"{actor.name} is {article} {actor.role.value} and may not {permission.value}: "
                               f"that needs the {needed.value} role (ask an admin)")
    return actor


def oidc_identity(claims: Mapping[str, Any]) -> str:
    """Who an OIDC sign-in is, for roles by address: the e-mail address when the provider vouches
    for it (`email_verified` not false, nor "false" as some providers send it), else "sub:<subject>",
    which only the default role covers. Never the display name: users choose it, and "maria@example.org"
    as a name must not be Maria."""
    email = str(claims.get("email") or "").strip()
    verified = claims.get("email_verified")
    if email and verified is not False and str(verified).strip().lower() not in ("false", "0", "no"):
        return email
    subject = str(claims.get("sub") or "").strip()
    return f"sub:{subject}" if subject else ""


def role_for_email(roles: RolesConfig, email: str) -> Role | None:
    """An OIDC user's role: their address if listed, else their domain ("@example.org"), else the
    default (None: not let in). A subject ("sub:…", no address the provider vouched for) gets only the
    default, even one with an "@" in it."""
    if email.startswith("sub:"):
        return roles.default
    address = email.strip().lower()
    listed = dict(roles.emails)
    if address in listed:
        return listed[address]
    domain = "@" + address.rsplit("@", 1)[-1] if "@" in address else None
    if domain is not None and domain in listed:
        return listed[domain]
    return roles.default
