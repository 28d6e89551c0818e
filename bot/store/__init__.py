"""The store: SQLAlchemy Core tables, Alembic migrations and the queries each stage needs."""
