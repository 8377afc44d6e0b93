"""`tracker users …`, `tracker demo seed` and `tracker dashboard`: the dashboard's commands."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import click

from tracker.errors import TrackerError

DASHBOARD_APP = Path(__file__).resolve().parent.parent.parent / "dashboard" / "app.py"
DEMO_DB_URL = "sqlite:///data/demo.db"
DEMO_CLIPS = 600


def _config_or_none(app: Any) -> Any:
    """The config when feeds.yml exists; the demo roster stands in otherwise."""
    return app.config if Path(app.config_path).exists() else None


def _default_source(ctx: click.Context, name: str) -> bool:
    root = ctx.find_root()
    source = root.get_parameter_source(name)
    return source is None or source == click.core.ParameterSource.DEFAULT


def _free_port(preferred: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if sock.connect_ex(("127.0.0.1", preferred)) != 0:
            return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def register(cli: click.Group) -> None:
    @cli.group()
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

    @cli.group()
    def demo() -> None:
        """Sample data for demos, screenshots and benchmarks."""

    @demo.command("seed")
    @click.option("--clips", "count", type=click.IntRange(1, 2_000_000), default=DEMO_CLIPS, show_default=True,
                  help="How many clips to generate.")
    @click.option("--seed", "seed_value", type=int, default=7, show_default=True, help="Random seed (same seed, same data).")
    @click.pass_obj
    def demo_seed(app: Any, count: int, seed_value: int) -> None:
        """Fill the database with realistic demo clips, feed health and ingest runs.

        Uses the members and campaigns of feeds.yml when it has some, else a fictional roster.
        """
        from tracker.demo import seed_store

        report = seed_store(app.store, count, config=_config_or_none(app), now=app.clock(), seed=seed_value)
        click.echo(f"seeded {report.clips} clips ({report.new} new, {report.approved} approved, "
                   f"{report.rejected} rejected) and {report.feeds} feeds into {app.store.url}")

    @cli.command()
    @click.option("--demo", "demo_mode", is_flag=True,
                  help="Sample data (data/demo.db unless --db is given), signed in as 'demo', no password.")
    @click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
    @click.option("--host", default="localhost", show_default=True, help="Address to listen on.")
    @click.pass_context
    def dashboard(ctx: click.Context, demo_mode: bool, port: int, host: str) -> None:
        """Run the Streamlit dashboard (review, edit and publish clips; coverage charts)."""
        app = ctx.obj
        env = dict(os.environ)
        db_url = app.db_url
        if demo_mode:
            if _default_source(ctx, "db_url") and "TRACKER_DATABASE_URL" not in os.environ:
                db_url = DEMO_DB_URL
            if not db_url.startswith("sqlite"):
                # Demo mode signs everyone in without a password: never against a shared database.
                raise TrackerError("--demo runs only on a local SQLite database (it needs no sign-in)")
            from tracker.demo import seed_store
            from tracker.store import ClipFilter, Store

            store = Store(db_url)
            try:
                if store.count_clips(ClipFilter()) == 0:
                    report = seed_store(store, DEMO_CLIPS, config=_config_or_none(app), now=app.clock())
                    click.echo(f"demo: seeded {report.clips} sample clips into {db_url}")
            finally:
                store.close()
            env["TRACKER_DEMO"] = "1"
        env["TRACKER_DATABASE_URL"] = db_url
        env["TRACKER_CONFIG"] = app.config_path
        streamlit = shutil.which("streamlit", path=str(Path(sys.executable).parent)) or shutil.which("streamlit")
        if streamlit is None:
            raise TrackerError("streamlit is not installed in this environment (pip install streamlit)")
        chosen = _free_port(port)
        click.echo(f"Dashboard: http://{host}:{chosen}" + ("  (demo mode: signed in as 'demo')" if demo_mode else ""))
        args = [streamlit, "run", str(DASHBOARD_APP), "--server.port", str(chosen), "--server.address", host,
                "--server.headless", "true", "--browser.gatherUsageStats", "false",
                # staff have no use for Streamlit's deploy/developer menu
                "--client.toolbarMode", "minimal"]
        if demo_mode:
            args += ["--", "--demo"]
        sys.stdout.flush()
        os.execvpe(args[0], args, env)
