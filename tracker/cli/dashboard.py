"""`tracker dashboard`: run the Streamlit dashboard (in demo mode on its own seeded SQLite database).

Whether demo mode may run is decided by tracker.demo_mode, the rule the dashboard itself applies.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
from pathlib import Path

import click

from tracker.cli.context import AppContext
from tracker.cli.demo import DEMO_CLIPS
from tracker.demo_mode import DEMO_DB_URL, DEMO_ENV, demo_db_url, demo_mode, demo_requested
from tracker.errors import TrackerError

__all__ = ["DEMO_DB_URL", "dashboard", "dashboard_app"]


def dashboard_app() -> Path:
    """The Streamlit script of the `dashboard` package installed beside tracker."""
    spec = importlib.util.find_spec("dashboard")
    app = Path(spec.origin).parent / "app.py" if spec is not None and spec.origin else None
    if app is None or not app.is_file():
        raise TrackerError("the dashboard package is not installed (reinstall media-tracker: pip install .)")
    return app


def _default_source(ctx: click.Context, name: str) -> bool:
    root = ctx.find_root()
    source = root.get_parameter_source(name)
    return source is None or source == click.core.ParameterSource.DEFAULT


def _free_port(preferred: int) -> int:
    """The preferred port, else the next free one after it (8502, 8503…: a URL staff can guess), else
    any the system gives."""
    for port in range(preferred, min(preferred + 20, 65536)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@click.command()
@click.option("--demo", "demo_flag", is_flag=True,
              help="Sample data in data/demo.db (or a --db file named demo.db), signed in as 'demo', no password.")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--host", default="localhost", show_default=True, help="Address to listen on.")
@click.pass_context
def dashboard(ctx: click.Context, demo_flag: bool, port: int, host: str) -> None:
    """Run the Streamlit dashboard (review, edit and publish clips; coverage charts)."""
    app: AppContext = ctx.obj
    env = dict(os.environ)
    db_url = app.db_url
    # --demo and TRACKER_DEMO=1 are one request, held to one rule (demo.db only), before anything runs.
    requested = demo_requested(demo_flag, os.environ)
    if requested:
        given = None if _default_source(ctx, "db_url") and "TRACKER_DATABASE_URL" not in os.environ else db_url
        db_url = demo_db_url(given)
    demo = demo_mode(requested, db_url)
    env.pop(DEMO_ENV, None)
    if demo:
        _seed_if_empty(app, db_url)
        env[DEMO_ENV] = "1"
    env["TRACKER_DATABASE_URL"] = db_url
    env["TRACKER_CONFIG"] = app.config_path
    streamlit = shutil.which("streamlit", path=str(Path(sys.executable).parent)) or shutil.which("streamlit")
    if streamlit is None:
        raise TrackerError("streamlit is not installed in this environment (pip install streamlit)")
    script = dashboard_app()
    chosen = _free_port(port)
    click.echo(f"Dashboard: http://{host}:{chosen}" + ("  (demo mode: signed in as 'demo')" if demo else ""))
    args = [streamlit, "run", str(script), "--server.port", str(chosen), "--server.address", host,
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            # staff have no use for Streamlit's deploy/developer menu
            "--client.toolbarMode", "minimal"]
    if demo:
        args += ["--", "--demo"]
    sys.stdout.flush()
    os.execvpe(args[0], args, env)


def _seed_if_empty(app: AppContext, db_url: str) -> None:
    from tracker.cli.demo import seed_demo
    from tracker.models import ClipFilter
    from tracker.store import Store

    store = Store(db_url)
    try:
        if store.count_clips(ClipFilter()) == 0:
            report = seed_demo(store, DEMO_CLIPS, config=app.config_if_present, now=app.clock())
            click.echo(f"demo: seeded {report.clips} sample clips into {db_url}")
    finally:
        store.close()
