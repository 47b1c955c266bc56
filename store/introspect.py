"""The live schema read back into one neutral structure, on both backends.

    schema = read_schema(db)                      # every table (sqlite_* skipped)
    schema.table("item").column("qty").nullable   # -> False
    before.diff(after)                            # [] when equal, else readable lines
    json.dumps(schema.to_dict())                  # snapshot; Schema.from_dict() reads it

``read_schema`` is the one reader of the catalog: migration drift checks,
up/down/up round trips, SQLite table-rebuild verification, ERDs and the copy
command all compare or render a ``Schema``.

What is read, per table: columns in table order (type, nullability, default,
primary key, autoincrement), the primary key, named CHECKs, indexes (unique,
partial WHERE, DESC parts, expression parts, method), foreign keys (columns,
referenced table and columns, ON DELETE / ON UPDATE) and triggers.

* PostgreSQL: ``pg_catalog`` of ``schema`` (default ``current_schema()``).
  Types are ``format_type`` text (``character varying(20)``, ``numeric(10,2)``).
  A serial or identity column is ``autoincrement=True`` with ``default=None``
  (its ``nextval`` default names a sequence, not a value). Indexes backing
  the primary key are left out; indexes backing UNIQUE constraints are kept.
* SQLite: the ``CREATE TABLE`` text in ``sqlite_master``, parsed by a small
  tokenizer (quotes and nested parentheses respected), cross-checked with
  ``PRAGMA table_xinfo / foreign_key_list / index_list / index_xinfo``. Types
  are as declared, lower-cased. ``INTEGER PRIMARY KEY`` (a rowid alias) and
  ``AUTOINCREMENT`` are both ``autoincrement=True``. Unnamed CHECKs are named
  as PostgreSQL would for a column (``<table>_<column>_check``) or
  ``<table>_check`` at table level; unnamed foreign keys ``fk_<table>_<cols>_<ref>``.
  UNIQUE constraints appear as unique indexes named by their CONSTRAINT name,
  else by SQLite's ``sqlite_autoindex_*`` name.

SQL snippets (CHECK rules, defaults, WHERE clauses, triggers) have runs of
whitespace outside quotes collapsed and redundant outer parentheses removed,
so the same models created twice read back equal. Output is exact within one
backend; SQLite and PostgreSQL spell types and expressions differently, while
the names of tables, columns, constraints and indexes agree.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields as dc_fields
from typing import Optional

__all__ = ["Column", "Check", "Index", "ForeignKey", "Trigger", "Table", "Schema",
           "SchemaDiff", "read_schema"]


# --- the neutral structure -----------------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    default: Optional[str] = None
    primary_key: bool = False
    autoincrement: bool = False


@dataclass(frozen=True)
class Check:
    name: str
    sql: str


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple          # column names or expressions, "<part> DESC" when descending
    unique: bool = False
    where: Optional[str] = None
    method: Optional[str] = "btree"


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple
    ref_table: str
    ref_columns: tuple
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


@dataclass(frozen=True)
class Trigger:
    name: str
    sql: str


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple = ()
    primary_key: tuple = ()
    checks: tuple = ()
    indexes: tuple = ()
    foreign_keys: tuple = ()
    triggers: tuple = ()
    partition: Optional[str] = None     # PostgreSQL: "RANGE (day)" of a partitioned table

    def column(self, name) -> Optional[Column]:
        return next((c for c in self.columns if c.name == name), None)

    def check(self, name):
        return _by_name(self.checks).get(name)

    def index(self, name):
        return _by_name(self.indexes).get(name)

    def foreign_key(self, name):
        return _by_name(self.foreign_keys).get(name)

    def trigger(self, name):
        return _by_name(self.triggers).get(name)


class SchemaDiff(list):
    """Readable differences, one per line; falsy when the schemas are equal."""

    def __str__(self):
        return "\n".join(self)


@dataclass(frozen=True)
class Schema:
    tables: dict

    def __hash__(self):
        return hash(tuple(sorted(self.tables.items())))

    def __repr__(self):
        return f"Schema(tables={sorted(self.tables)!r})"

    def table(self, name) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"no table {name!r} in schema (has: {', '.join(self.names())})") \
                from None

    def names(self) -> list:
        return sorted(self.tables)

    def to_dict(self) -> dict:
        return {"tables": {name: asdict(self.tables[name]) for name in self.names()}}

    @classmethod
    def from_dict(cls, data) -> "Schema":
        def build(kind, items):
            return tuple(kind(**{k: tuple(v) if isinstance(v, list) else v
                                 for k, v in item.items()}) for item in items)
        tables = {}
        for name, t in data["tables"].items():
            tables[name] = Table(
                name=t["name"], columns=build(Column, t["columns"]),
                primary_key=tuple(t["primary_key"]), checks=build(Check, t["checks"]),
                indexes=build(Index, t["indexes"]),
                foreign_keys=build(ForeignKey, t["foreign_keys"]),
                triggers=build(Trigger, t["triggers"]), partition=t.get("partition"))
        return cls(tables)

    def diff(self, other: "Schema") -> SchemaDiff:
        """What changes from ``self`` to ``other`` ("added" = only in ``other``)."""
        out = SchemaDiff()
        for name in sorted(set(self.tables) | set(other.tables)):
            a, b = self.tables.get(name), other.tables.get(name)
            if a is None:
                out.append(f"table {name} added")
            elif b is None:
                out.append(f"table {name} removed")
            elif a != b:
                out.extend(f"table {name}: {line}" for line in _table_diff(a, b))
        return out


def _by_name(items):
    return {item.name: item for item in items}


def _table_diff(a: Table, b: Table):
    lines = _items_diff("column", a.columns, b.columns)
    common = [c.name for c in a.columns if b.column(c.name) is not None]
    common_b = [c.name for c in b.columns if a.column(c.name) is not None]
    if common != common_b:
        lines.append(f"column order {', '.join(common)} -> {', '.join(common_b)}")
    if a.primary_key != b.primary_key:
        lines.append(f"primary key {a.primary_key!r} -> {b.primary_key!r}")
    if a.partition != b.partition:
        lines.append(f"partitioning {a.partition!r} -> {b.partition!r}")
    for kind, attr in (("check", "checks"), ("index", "indexes"),
                       ("foreign key", "foreign_keys"), ("trigger", "triggers")):
        lines.extend(_items_diff(kind, getattr(a, attr), getattr(b, attr)))
    return lines


def _items_diff(kind, old, new):
    old, new = _by_name(old), _by_name(new)
    lines = []
    for name in sorted(set(old) | set(new), key=lambda n: (n not in old, n)):
        x, y = old.get(name), new.get(name)
        if x is None:
            lines.append(f"{kind} {name} added")
        elif y is None:
            lines.append(f"{kind} {name} removed")
        elif x != y:
            for f in dc_fields(x):
                va, vb = getattr(x, f.name), getattr(y, f.name)
                if va != vb:
                    lines.append(f"{kind} {name}: {f.name} {va!r} -> {vb!r}")
    return lines


# --- SQL text helpers ------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|$))
  | (?P<string>'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
  | (?P<word>[\w$]+)
  | (?P<punct>.)
""", re.S | re.X)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    start: int
    end: int

    @property
    def upper(self):
        return self.text.upper() if self.kind == "word" else None


def _tokens(sql):
    return [_Tok(m.lastgroup, m.group(), m.start(), m.end())
            for m in _TOKEN.finditer(sql) if m.lastgroup not in ("ws", "comment")]


def _norm(sql):
    """Whitespace runs outside quotes collapsed to one space; stripped; no ';'."""
    if sql is None:
        return None
    out = []
    for m in _TOKEN.finditer(sql):
        if m.lastgroup == "ws":
            out.append(" ")
        else:
            out.append(m.group())
    return "".join(out).strip().rstrip(";").strip()


def _strip_parens(sql):
    """``((a > 0))`` -> ``a > 0``; ``(a) OR (b)`` is left alone."""
    sql = _norm(sql)
    while sql and sql.startswith("(") and sql.endswith(")"):
        toks = _tokens(sql)
        if _close(toks, 0) != len(toks) - 1:
            break
        sql = sql[1:-1].strip()
    return sql


def _unquote(text):
    if text[:1] in ('"', "`") and text[-1:] == text[:1]:
        return text[1:-1].replace(text[0] * 2, text[0])
    if text[:1] == "[" and text[-1:] == "]":
        return text[1:-1]
    return text


def _close(toks, i):
    """Index of the ')' matching the '(' at ``toks[i]``."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].text == "(" and toks[j].kind == "punct":
            depth += 1
        elif toks[j].text == ")" and toks[j].kind == "punct":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced parentheses in SQL")


def _split(toks):
    """Top-level comma-separated groups of ``toks``."""
    parts, depth, cur = [], 0, []
    for t in toks:
        if t.kind == "punct" and t.text == "(":
            depth += 1
        elif t.kind == "punct" and t.text == ")":
            depth -= 1
        if depth == 0 and t.kind == "punct" and t.text == ",":
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    if cur:
        parts.append(cur)
    return parts


def _text(sql, toks):
    return _norm(sql[toks[0].start:toks[-1].end]) if toks else ""


def _inner(sql, toks, i):
    """Text inside the parentheses opening at ``toks[i]``, and the index after them."""
    j = _close(toks, i)
    return _text(sql, toks[i + 1:j]), j + 1


# --- SQLite ----------------------------------------------------------------------

_COLUMN_CONSTRAINTS = {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
                       "COLLATE", "REFERENCES", "GENERATED", "AS"}
_TABLE_CONSTRAINTS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}


class _SqliteTableSQL:
    """What PRAGMAs do not say, parsed from a CREATE TABLE statement:
    CHECKs, constraint names, AUTOINCREMENT."""

    def __init__(self, table, sql):
        self.table = table
        self.checks = []               # [(name or None, column or None, expr)]
        self.fk_names = {}             # (cols) -> name
        self.unique_names = {}         # (cols) -> name
        self.autoincrement = set()     # column names
        toks = _tokens(sql)
        start = next(i for i, t in enumerate(toks) if t.text == "(" and t.kind == "punct")
        for part in _split(toks[start + 1:_close(toks, start)]):
            if part[0].upper in _TABLE_CONSTRAINTS:
                self._table_constraint(sql, part)
            else:
                self._column(sql, part)

    def _column(self, sql, toks):
        column = _unquote(toks[0].text)
        k, pending = 1, None
        while k < len(toks) and toks[k].upper not in _COLUMN_CONSTRAINTS:
            k = _close(toks, k) + 1 if toks[k].text == "(" else k + 1   # the type
        while k < len(toks):
            word = toks[k].upper
            if word == "CONSTRAINT":
                pending = _unquote(toks[k + 1].text)
                k += 2
                continue
            name, pending = (pending, None) if word in _COLUMN_CONSTRAINTS else (None, pending)
            if word == "CHECK":
                expr, k = _inner(sql, toks, k + 1)
                self.checks.append((name, column, expr))
                continue
            if word == "AUTOINCREMENT":
                self.autoincrement.add(column)
            elif word in ("UNIQUE", "REFERENCES") and name:
                target = self.unique_names if word == "UNIQUE" else self.fk_names
                target[(column,)] = name
            k = _close(toks, k) + 1 if toks[k].text == "(" else k + 1

    def _table_constraint(self, sql, toks):
        name = None
        if toks[0].upper == "CONSTRAINT":
            name, toks = _unquote(toks[1].text), toks[2:]
        word = toks[0].upper
        if word == "CHECK":
            self.checks.append((name, None, _inner(sql, toks, 1)[0]))
            return
        paren = next((i for i, t in enumerate(toks) if t.text == "("), None)
        if paren is None or not name:
            return
        cols = tuple(_unquote(p[0].text) for p in _split(toks[paren + 1:_close(toks, paren)]))
        if word == "UNIQUE":
            self.unique_names[cols] = name
        elif word == "FOREIGN":
            self.fk_names[cols] = name


def _pragma(cur, prefix, name, arg):
    return cur.execute(f'PRAGMA {prefix}{name}("{arg.replace(chr(34), chr(34) * 2)}")').fetchall()


def _read_sqlite(db, schema):
    """The tables of one namespace of the main file (``schema``: its name;
    default: the namespace ``db`` is a view of, else the default namespace),
    named without the namespace's prefix (``dental__models`` -> ``models``,
    in index, constraint and trigger names too). See store.namespaces."""
    from .namespaces import split_name, view_namespace
    namespace = schema if schema is not None else view_namespace(db)
    if namespace == "main":
        namespace = None
    prefix = ""
    cur = db.cursor()
    master = cur.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_master "
                         "ORDER BY name").fetchall()
    index_sql = {name: sql for kind, name, _t, sql in master if kind == "index"}
    triggers = {}
    for kind, name, table, sql in master:
        if kind == "trigger":
            triggers.setdefault(table, []).append(Trigger(name, _norm(sql)))
    out = {}
    for kind, table, _t, sql in master:
        if kind != "table" or table.startswith("sqlite_") \
                or split_name(table)[0] != namespace:
            continue
        found = _sqlite_table(cur, prefix, table, sql, index_sql,
                              tuple(triggers.get(table, ())))
        if namespace is not None:
            found = _stripped(found, namespace)
        out[found.name] = found
    return out


def _stripped(table, namespace):
    from dataclasses import replace

    from .namespaces import strip

    def named(items, **more):
        return _sorted(replace(i, name=strip(i.name, namespace),
                               **{k: f(i) for k, f in more.items()}) for i in items)
    return replace(
        table, name=strip(table.name, namespace),
        checks=named(table.checks),
        indexes=named(table.indexes),
        foreign_keys=named(table.foreign_keys,
                           ref_table=lambda fk: strip(fk.ref_table, namespace)),
        triggers=named(table.triggers, sql=lambda t: strip(t.sql, namespace)))


def _sqlite_table(cur, prefix, table, sql, index_sql, triggers):
    parsed = _SqliteTableSQL(table, sql)
    without_rowid = bool(re.search(r"\)\s*(?:STRICT\s*,\s*)?WITHOUT\s+ROWID\b", sql, re.I))
    info = [r for r in _pragma(cur, prefix, "table_xinfo", table) if r[6] != 1]
    pk = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
    columns = []
    for _cid, name, decl, notnull, default, in_pk, _hidden in info:
        rowid = (pk == (name,) and decl.upper() == "INTEGER" and not without_rowid)
        columns.append(Column(name, _norm(decl).lower(), nullable=not (notnull or rowid),
                              default=_norm(default), primary_key=bool(in_pk),
                              autoincrement=rowid or name in parsed.autoincrement))

    checks, taken = [], set()
    for name, column, expr in parsed.checks:
        if not name:
            base = f"{table}_{column}_check" if column else f"{table}_check"
            name, n = base, 0
            while name in taken:
                n += 1
                name = f"{base}{n}"
        taken.add(name)
        checks.append(Check(name, _strip_parens(expr)))

    fks = {}
    for row in _pragma(cur, prefix, "foreign_key_list", table):
        fks.setdefault(row[0], []).append(row)
    foreign_keys = []
    for rows in fks.values():
        rows.sort(key=lambda r: r[1])
        cols = tuple(r[3] for r in rows)
        ref = rows[0][2]
        ref_cols = tuple(r[4] for r in rows)
        if any(c is None for c in ref_cols):       # REFERENCES parent: its primary key
            ref_info = _pragma(cur, prefix, "table_info", ref)
            ref_cols = tuple(r[1] for r in sorted((r for r in ref_info if r[5]),
                                                  key=lambda r: r[5]))
        # unnamed: the name store's error translation reports (database._foreign_key_name)
        name = parsed.fk_names.get(cols) or f"fk_{table}_{'_'.join(cols)}_{ref}"
        foreign_keys.append(ForeignKey(name, cols, ref, ref_cols,
                                       on_delete=_action(rows[0][6]),
                                       on_update=_action(rows[0][5])))

    indexes = []
    for _seq, name, unique, origin, partial in _pragma(cur, prefix, "index_list", table):
        if origin == "pk":
            continue
        keys = [r for r in _pragma(cur, prefix, "index_xinfo", name) if r[5]]
        if origin == "u":
            cols = tuple(r[2] for r in keys)
            indexes.append(Index(parsed.unique_names.get(cols, name), cols, unique=True))
            continue
        parts, where = _sqlite_index_sql(index_sql[name])
        if len(parts) != len(keys) or bool(partial) != (where is not None):
            raise ValueError(f"index {name}: cannot parse {index_sql[name]!r}")
        cols = []
        for (text, _desc), (_s, cid, colname, desc, *_rest) in zip(parts, keys):
            part = colname if cid >= 0 else text
            cols.append(part + " DESC" if desc else part)
        indexes.append(Index(name, tuple(cols), unique=bool(unique), where=where))

    return Table(table, tuple(columns), pk, _sorted(checks), _sorted(indexes),
                 _sorted(foreign_keys), _sorted(triggers))


def _sqlite_index_sql(sql):
    """``CREATE INDEX ... ON t (parts) [WHERE expr]`` -> ([(part, desc)], where)."""
    toks = _tokens(sql)
    on = next(i for i, t in enumerate(toks) if t.upper == "ON")
    paren = on + 2
    end = _close(toks, paren)
    parts = []
    for part in _split(toks[paren + 1:end]):
        desc = part[-1].upper == "DESC"
        if part[-1].upper in ("ASC", "DESC"):
            part = part[:-1]
        text = _unquote(part[0].text) if len(part) == 1 else _text(sql, part)
        parts.append((text, desc))
    rest = toks[end + 1:]
    where = None
    if rest and rest[0].upper == "WHERE":
        where = _strip_parens(_text(sql, rest[1:]))
    return parts, where


def _action(value):
    value = " ".join((value or "").upper().split())
    return "NO ACTION" if value in ("", "NONE") else value


def _sorted(items):
    return tuple(sorted(items, key=lambda i: i.name))


# --- PostgreSQL ---------------------------------------------------------------------

_PG_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
               "d": "SET DEFAULT"}

_PG_TABLES = """
SELECT c.oid, c.relname, CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname"""

_PG_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid),
       a.attidentity <> '' OR EXISTS (
           SELECT 1 FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid
           WHERE dep.classid = 'pg_class'::regclass AND s.relkind = 'S'
             AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum
             AND dep.deptype IN ('a', 'i'))
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum"""

_PG_CONSTRAINTS = """
SELECT con.conrelid, con.conname, con.contype, pg_get_constraintdef(con.oid, true),
       con.confdeltype, con.confupdtype, ref.relname, refns.nspname,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
             ORDER BY k.o),
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
             ORDER BY k.o)
FROM pg_constraint con
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
LEFT JOIN pg_namespace refns ON refns.oid = ref.relnamespace
WHERE con.conrelid = ANY(%s) AND con.contype IN ('c', 'f', 'p')"""

_PG_INDEXES = """
SELECT i.indrelid, ic.relname, i.indisunique, pg_get_expr(i.indpred, i.indrelid, true),
       am.amname,
       ARRAY(SELECT CASE WHEN i.indkey[k - 1] <> 0
                         THEN (SELECT a.attname::text FROM pg_attribute a
                               WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1])
                         ELSE pg_get_indexdef(i.indexrelid, k, true) END
             FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
       ARRAY(SELECT (i.indoption[k - 1]::int & 1) = 1
             FROM generate_series(1, i.indnkeyatts) k ORDER BY k)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
WHERE i.indrelid = ANY(%s) AND NOT i.indisprimary"""

_PG_TRIGGERS = """
SELECT t.tgrelid, t.tgname, pg_get_triggerdef(t.oid, true) FROM pg_trigger t
WHERE t.tgrelid = ANY(%s) AND NOT t.tgisinternal"""


def _read_postgres(db, schema):
    if schema is None:
        schema = db.execute_sql("SELECT current_schema()").fetchone()[0]

    def rows(sql, *params):
        return db.execute_sql(sql, params).fetchall()

    tables = rows(_PG_TABLES, schema)
    names = {oid: name for oid, name, _ in tables}
    partitioned = {oid: key for oid, _, key in tables}
    oids = list(names)
    parts = {oid: {"columns": [], "pk": (), "checks": [], "indexes": [], "fks": [],
                   "triggers": []} for oid in oids}
    if not oids:
        return {}
    for oid, name, type_, notnull, default, serial in rows(_PG_COLUMNS, oids):
        if serial and default and default.startswith("nextval("):
            default = None
        parts[oid]["columns"].append([name, type_, not notnull, _norm(default), serial])
    for (oid, name, kind, definition, on_delete, on_update, ref, ref_schema,
         cols, ref_cols) in rows(_PG_CONSTRAINTS, oids):
        if kind == "p":
            parts[oid]["pk"] = tuple(cols)
        elif kind == "c":
            body = re.sub(r"^CHECK\s*", "", definition)
            parts[oid]["checks"].append(Check(name, _strip_parens(body)))
        else:
            ref = ref if ref_schema == schema else f"{ref_schema}.{ref}"
            parts[oid]["fks"].append(ForeignKey(name, tuple(cols), ref, tuple(ref_cols),
                                                _PG_ACTIONS[on_delete],
                                                _PG_ACTIONS[on_update]))
    for oid, name, unique, where, method, cols, descs in rows(_PG_INDEXES, oids):
        cols = tuple(c + " DESC" if d else c for c, d in zip(cols, descs))
        parts[oid]["indexes"].append(Index(name, cols, unique=unique,
                                           where=_strip_parens(where) if where else None,
                                           method=method))
    qualified = re.compile(r'(?<![\w"])(?:%s|"%s")\.' % (re.escape(schema),
                                                         schema.replace('"', '""')))
    for oid, name, definition in rows(_PG_TRIGGERS, oids):
        parts[oid]["triggers"].append(Trigger(name, _norm(qualified.sub("", definition))))

    out = {}
    for oid, table in names.items():
        p = parts[oid]
        columns = tuple(Column(n, t, nullable, default, n in p["pk"], bool(serial))
                        for n, t, nullable, default, serial in p["columns"])
        out[table] = Table(table, columns, p["pk"], _sorted(p["checks"]),
                           _sorted(p["indexes"]), _sorted(p["fks"]), _sorted(p["triggers"]),
                           partitioned[oid])
    return out


# --- the one entry point --------------------------------------------------------------

_READERS = {"sqlite": _read_sqlite, "postgresql": _read_postgres}


def read_schema(db, *, schema=None, tables=None, exclude=()) -> Schema:
    """Read the live schema of ``db`` (a store database).

    ``schema``: the PostgreSQL schema (default ``current_schema()``) or the
    SQLite namespace (default: the namespace a view of ``open_namespace`` is
    of, else the default namespace: tables without a ``<namespace>__``
    prefix); a SQLite namespace's names come back without their prefix. ``tables``: only these
    names. ``exclude``: names to leave out. SQLite's own ``sqlite_*`` tables
    are always left out.
    """
    backend = db.features.name
    try:
        reader = _READERS[backend]
    except KeyError:
        raise ValueError(f"read_schema: unsupported backend {backend!r}") from None
    found = reader(db, schema)
    wanted = set(tables) if tables is not None else None
    excluded = set(exclude)
    return Schema({name: table for name, table in sorted(found.items())
                   if name not in excluded and (wanted is None or name in wanted)})
