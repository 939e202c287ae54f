"""Alembic migrations shipped inside the package (the same revisions serve SQLite and PostgreSQL)."""
