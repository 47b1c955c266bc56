"""Alembic environment for the benchmark: online migrations only, the URL
from ``-x url=...``; SQLite connections get foreign keys on (as store's)."""
from alembic import context
from sqlalchemy import create_engine, event

url = context.get_x_argument(as_dictionary=True)["url"]
engine = create_engine(url)
if url.startswith("sqlite"):
    @event.listens_for(engine, "connect")
    def _foreign_keys(conn, _record):
        conn.execute("PRAGMA foreign_keys = on")

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
