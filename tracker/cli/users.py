"""`tracker users …`: local dashboard accounts (used when no OIDC sign-in is configured)."""

from __future__ import annotations

import sys

import click


@click.group()
def users() -> None:
    """Local dashboard accounts (used when no OIDC sign-in is configured)."""


@users.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--replace", is_flag=True, help="Set a new password for an existing user.")
@click.option("--file", "users_file", envvar="TRACKER_USERS_FILE", default=None,
              help="Users file (default data/users.json, env TRACKER_USERS_FILE).")
def users_add(username: str, password_stdin: bool, replace: bool, users_file: str | None) -> None:
    """Create a dashboard account; the password is stored as a salted scrypt hash."""
    from tracker.users import UsersFile

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = UsersFile(users_file)
    existed = store.add(username, password, replace=replace)
    click.echo(f"{'updated' if existed else 'added'} user {username!r} in {store.path}")


@users.command("list")
@click.option("--file", "users_file", envvar="TRACKER_USERS_FILE", default=None, help="Users file.")
def users_list(users_file: str | None) -> None:
    """Usernames in the users file."""
    from tracker.users import UsersFile

    names = UsersFile(users_file).names()
    click.echo("\n".join(names) if names else "no users yet: add one with `tracker users add NAME`")


@users.command("remove")
@click.argument("username")
@click.option("--file", "users_file", envvar="TRACKER_USERS_FILE", default=None, help="Users file.")
def users_remove(username: str, users_file: str | None) -> None:
    """Delete a dashboard account."""
    from tracker.users import UsersFile

    UsersFile(users_file).remove(username)
    click.echo(f"removed user {username!r}")
