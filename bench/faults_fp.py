"""Fingerprints of a trial database for bench/faults.py, read with the raw
drivers (sqlite3, psycopg) so that a classification costs no store process.

``fingerprint(url)`` -> {(namespace, table): (schema, rows, digest)}:

* SQLite: the main file and its namespace files (``store.<ns>.db``); per
  table its ``sqlite_master`` entries (the table, its indexes, triggers), as
  written; PostgreSQL: per table (partitions under their parent) its columns
  (type, nullability, default), constraints (``pg_get_constraintdef``),
  indexes (``indexdef``) and triggers;
* rows: the row count; digest: SHA-256 of the rows sorted (``*_migrate_history``:
  the applied names, sorted, duplicates kept: its times differ run to run).

Opening a SQLite file here recovers a hot journal left by a killed process,
as any next reader would.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

HISTORY_SUFFIX = "_migrate_history"


def sqlite_files(url: str) -> dict:
    path = Path(url[len("sqlite:///"):])
    stem = path.name.removesuffix(".db")
    files = {None: path}
    for other in path.parent.glob(stem + ".*.db"):
        files[other.name[len(stem) + 1:-3]] = other
    return files


def _digest(rows) -> str:
    h = hashlib.sha256()
    for r in sorted(repr(tuple(x)) for x in rows):
        h.update(r.encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def _split(name: str):
    """``("dental", "users")`` for ``dental__users``, ``(None, name)`` otherwise
    (store.names.split_name's rule, copied: --store-path may name an older
    store that has no store.names)."""
    head, sep, rest = name.partition("__")
    if sep and rest and head and not head.endswith("_"):
        return head, rest
    return None, name


def _sqlite(url: str) -> dict:
    fp = {}
    for ns, path in sqlite_files(url).items():
        if not path.exists() or path.stat().st_size == 0:
            continue
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        try:
            master = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
            for _t, name, _tbl, _sql in master:
                if _t != "table" or name.startswith("sqlite_"):
                    continue
                schema = tuple(sorted((t, n, s or "") for t, n, tbl, s in master if tbl == name))
                q = '"' + name.replace('"', '""') + '"'
                # one file holds every namespace (``dental__users``): the same
                # (namespace, table) key as a namespace file or schema gives
                key = (ns, name) if ns is not None else _split(name)
                if name.endswith(HISTORY_SUFFIX):
                    names = tuple(sorted(r[0] for r in conn.execute(f"SELECT name FROM {q}")))
                    fp[key] = (schema, len(names), names)
                else:
                    rows = conn.execute(f"SELECT * FROM {q}").fetchall()
                    fp[key] = (schema, len(rows), _digest(rows))
        finally:
            conn.close()
    return fp


_PG_TABLES = """
SELECT c.oid, n.nspname, c.relname, pn.nspname, p.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
LEFT JOIN pg_class p ON p.oid = i.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
"""


def _pg(url: str) -> dict:
    import psycopg
    fp = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(_PG_TABLES).fetchall()
        parts = {}
        for oid, ns, name, pns, parent in tables:
            cols = conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod), attnotnull, "
                "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
                "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                (oid,)).fetchall()
            cons = conn.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                "WHERE conrelid = %s ORDER BY conname", (oid,)).fetchall()
            idx = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s "
                               "AND tablename = %s ORDER BY indexname", (ns, name)).fetchall()
            trg = conn.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal "
                               "ORDER BY tgname", (oid,)).fetchall()
            schema = (tuple(cols), tuple(cons), tuple(idx), tuple(r[0] for r in trg))
            q = f'"{ns}"."{name}"'
            key = (None if ns == "public" else ns, name)
            if parent is not None:          # a partition: part of its parent's entry
                parts.setdefault((None if pns == "public" else pns, parent), []).append(
                    (name, schema))
                continue
            if name.endswith(HISTORY_SUFFIX):
                names = tuple(sorted(r[0] for r in conn.execute(f"SELECT name FROM {q}")))
                fp[key] = (schema, len(names), names)
            else:
                count, digest = conn.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                    f"FROM {q} t").fetchone()
                fp[key] = (schema, count, digest[:16])
        for key, items in parts.items():
            if key in fp:
                schema, count, digest = fp[key]
                fp[key] = ((schema, tuple(sorted(items))), count, digest)
            else:
                fp[key] = (("orphan partitions", tuple(sorted(items))), 0, "")
    return fp


def fingerprint(url: str) -> dict:
    return _sqlite(url) if url.startswith("sqlite") else _pg(url)


def owners(apps) -> dict:
    """(namespace, table) -> app name, for ``store.migrate.apps.App`` objects."""
    own = {}
    for app in apps:
        own[(app.namespace, app.history_table)] = app.name
        for t in app.tables:
            own[(app.namespace, t)] = app.name
    return own


def view(fp: dict, own: dict, app: str) -> dict:
    return {k: v for k, v in fp.items() if own.get(k) == app}


def diff(a: dict, b: dict, limit=3) -> str:
    """A short description of how fingerprint ``a`` differs from ``b``."""
    out = []
    for k in sorted(set(a) | set(b), key=repr):
        name = ".".join(x for x in k if x)
        if k not in b:
            out.append(f"+{name}")
        elif k not in a:
            out.append(f"-{name}")
        elif a[k] != b[k]:
            what = "schema" if a[k][0] != b[k][0] else f"rows {a[k][1]} vs {b[k][1]}" \
                if a[k][1] != b[k][1] else "content"
            out.append(f"{name} {what}")
    more = f" (+{len(out) - limit} more)" if len(out) > limit else ""
    return ", ".join(out[:limit]) + more


def remove_sqlite(url: str) -> None:
    for path in sqlite_files(url).values():
        for suffix in ("", "-journal", "-wal", "-shm", "-writers"):
            try:
                os.unlink(str(path) + suffix)
            except FileNotFoundError:
                pass


def sequences(url: str) -> dict:
    """PostgreSQL: (schema, sequence) -> (last_value, is_called) of every
    sequence owned by a column (the ids copy and load restart); {} on SQLite."""
    if url.startswith("sqlite"):
        return {}
    import psycopg
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        seqs = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_depend d ON d.objid = c.oid AND d.deptype IN ('a', 'i') "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "WHERE c.relkind = 'S' AND t.relname NOT LIKE %s", ("%" + HISTORY_SUFFIX,)).fetchall()
        for ns, name in seqs:
            out[(ns, name)] = conn.execute(
                f'SELECT last_value, is_called FROM "{ns}"."{name}"').fetchone()
    return out
