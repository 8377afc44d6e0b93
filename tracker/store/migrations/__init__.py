"""Alembic migrations of the tracker schema (versions/), applied by tracker.store.engine."""

# The newest revision in versions/. A database already at it is opened without importing Alembic
# (one SELECT); bump this with every new migration (tests/test_migrations.py checks it).
HEAD_REVISION = "0015"
