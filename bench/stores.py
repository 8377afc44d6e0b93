"""The databases benchmarks run on: a SQLite file (temporary, or kept to measure again) or a
PostgreSQL schema on the local server (temporary, or kept by name)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tracker.store import Store

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _admin(sql: str) -> None:
    import psycopg  # only the PostgreSQL runs need the driver

    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


def pg_schema_url(schema: str) -> str:
    """A URL whose connections work in this schema (created when missing)."""
    _admin(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def drop_pg_schema(schema: str) -> None:
    _admin(f"DROP SCHEMA {schema} CASCADE")


def temporary_pg_schema(prefix: str = "bench") -> tuple[str, str]:
    """A new schema's name and URL; the caller drops it (drop_pg_schema)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    return schema, pg_schema_url(schema)


@contextmanager
def bench_store(kind: str, *, keep_file: Path | None = None, keep_schema: str | None = None,
                prefix: str = "bench") -> Iterator[Store]:
    """A Store on `kind` ("sqlite" or "postgres"). With keep_file / keep_schema the database is
    left in place for a later run; otherwise it is removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"tracker-{prefix}-") as tmp:
            store = Store(f"sqlite:///{keep_file or Path(tmp) / 'bench.db'}")
            try:
                yield store
            finally:
                store.close()
        return
    if keep_schema is not None:
        schema, url = keep_schema, pg_schema_url(keep_schema)
    else:
        schema, url = temporary_pg_schema(prefix)
    store = Store(url)
    try:
        yield store
    finally:
        store.close()
        if keep_schema is None:
            drop_pg_schema(schema)
