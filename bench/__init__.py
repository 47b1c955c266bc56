"""Benchmarks (not tests). ``python -m bench.run`` compares store with the raw
drivers, SQLAlchemy + Alembic and plain peewee; see bench/README.md."""
