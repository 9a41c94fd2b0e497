"""SQLAlchemy 2 async adapters for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""
