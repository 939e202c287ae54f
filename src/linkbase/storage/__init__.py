"""Storage: SQLAlchemy tables, engine setup, filter compiler, closure maintenance, migrations."""
