"""What every `tracker` command is handed: the config, the store and the clock, opened on first use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tracker.clock import Clock, system_clock

if TYPE_CHECKING:  # SQLAlchemy and PyYAML load only when a command opens the store or the config
    from tracker.models import Actor, Config
    from tracker.store import Store


@dataclass
class AppContext:
    config_path: str
    db_url: str
    clock: Clock = system_clock
    _config: Config | None = None
    _store: Store | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from tracker.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def config_if_present(self) -> Config | None:
        """The config when feeds.yml exists: review and demo commands also work without one."""
        return self.config if Path(self.config_path).exists() else None

    def say_if_exports_skipped(self) -> None:
        """After a decision made without a config: the website's exports were not regenerated. Said, as a
        takedown that only seems done stays on the website until the next ingest."""
        if self.config_if_present is None:
            click.echo(f"warning: no config at {self.config_path}: the website's exports were not regenerated "
                       "(pass --config or set TRACKER_CONFIG)", err=True)

    @property
    def store(self) -> Store:
        if self._store is None:
            from tracker.store import Store

            self._store = Store(self.db_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


pass_app = click.make_pass_decorator(AppContext)


USER_HELP = ("Act as this dashboard user, with their role (tracker users add); recorded in the clip's history. "
             "Without it, the command acts as 'cli', the operator at the server.")


def acting_user(user: str | None) -> Actor | str:
    """--user NAME acts with NAME's role from the users file; no --user is the operator ('cli', as admin)."""
    if user is None:
        return "cli"
    from tracker.users import UsersFile

    return UsersFile().actor(user)
