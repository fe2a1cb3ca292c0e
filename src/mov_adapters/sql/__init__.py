"""SQL adapters (SQLAlchemy 2 Core, async): SQLite for the embedded default, PostgreSQL for
production, from one set of tables and one set of Alembic migrations."""
