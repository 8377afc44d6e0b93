"""Alembic environment: always run with a connection handed in by tracker.store.engine."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import tracker.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from tracker.store.search import include_object

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` run by hand: build an engine from the URL
    from tracker.store.engine import make_engine

    connection = make_engine(config.get_main_option("sqlalchemy.url") or "", migrate=False).connect()



context.configure(
    connection=connection,
    include_object=include_object,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
