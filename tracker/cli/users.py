"""`tracker users …`: local dashboard accounts (used when no OIDC sign-in is configured)."""

from __future__ import annotations

import sys

import click

from tracker.cli.context import AppContext, pass_app


@click.group()
def users() -> None:
    """Local dashboard accounts (used when no OIDC sign-in is configured)."""


ROLES = click.Choice(["viewer", "editor", "admin"])


@users.command("add")
@click.argument("username")
@click.option("--role", type=ROLES, default=None,
              help="viewer (reads), editor (reviews, edits, adds by URL) or admin (also the published order, "
                   "users, settings). Default: editor; with --replace, the user's role stays.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--replace", is_flag=True, help="Set a new password for an existing user.")
@click.option("--file", "users_file", envvar="TRACKER_USERS_FILE", default=None,
              help="Users file (default data/users.json, env TRACKER_USERS_FILE).")
@pass_app
def users_add(app: AppContext, username: str, role: str | None, password_stdin: bool, replace: bool,
              users_file: str | None) -> None:
    """Create a dashboard account; the password is stored as a salted scrypt hash."""
    from tracker.users import UsersFile, parse_role

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = UsersFile(users_file, clock=app.clock)  # created_at from the one clock
    existed = store.add(username, password, replace=replace, role=parse_role(role) if role else None)
    click.echo(f"{'updated' if existed else 'added'} user {username!r} ({store.role_of(username)}) in {store.path}")


@users.command("role")
@click.argument("username")
@click.argument("role", type=ROLES)
@click.option("--file", "users_file", envvar="TRACKER_USERS_FILE", default=None, help="Users file.")
@pass_app
def users_role(app: AppContext, username: str, role: str, users_file: str | None) -> None:
    """Give a user another role (viewer, editor or admin)."""
    from tracker.users import UsersFile, parse_role

    UsersFile(users_file, clock=app.clock).set_role(username, parse_role(role))
    click.echo(f"{username!r} is now {role}")


@users.command("list")
@click.option("--file", "users_file", envvar="TRACKER_USERS_FILE", default=None, help="Users file.")
def users_list(users_file: str | None) -> None:
    """Usernames in the users file."""
    from tracker.users import UsersFile

    records = UsersFile(users_file).load()
    if not records:
        click.echo("no users yet: add one with `tracker users add NAME --role admin`")
    for name in sorted(records):
        click.echo(f"{name}  {records[name].role}")


@users.command("remove")
@click.argument("username")
@click.option("--file", "users_file", envvar="TRACKER_USERS_FILE", default=None, help="Users file.")
def users_remove(username: str, users_file: str | None) -> None:
    """Delete a dashboard account."""
    from tracker.users import UsersFile

    UsersFile(users_file).remove(username)
    click.echo(f"removed user {username!r}")
