"""Storage written by earlier versions of store: found, refused, converted.

store 0.1 kept a ``DecimalField(p, s)`` on SQLite as the number times
``10**s`` in an INTEGER column (9.90 as 990). store 0.2 keeps the number
itself in a ``NUMERIC(p, s)`` column, so that SQL sees 9.90. Reading an old
column with the new field would give wrong numbers (990.00), so:

* ``scaled_decimal_columns(db, models)`` lists the old columns (SQLite only:
  PostgreSQL always had NUMERIC); ``refuse_scaled_decimals`` raises a
  ``MigrationError`` that says how to convert them. ``store.connect(apps=...)``
  and ``migrate`` call it.
* the migration operation ``migrator.upgrade_decimal_storage(table, column,
  field)`` rebuilds one column from the old form to the new, exactly (the
  old values are integers below 10**15; dividing by ``10**s`` gives the
  double nearest to the decimal, which reads back as that decimal). On
  PostgreSQL and on a column already in the new form it does nothing; its
  rollback is nothing too (the earlier migrations now create the new form).
  The seed apps ship such a migration (``pricing`` 002, ``inventory`` 002);
  an app of your own writes one with ``store create convert_decimals --app
  APP`` and one line per column that the error lists.
"""
from __future__ import annotations

import re
from decimal import Decimal

from .errors import MigrationError
from .fields import DecimalField, quote_ident

_DEFAULT_NUMBER = re.compile(r"(\bDEFAULT\s+\(?\s*)(-?\d+(?:\.\d+)?)", re.IGNORECASE)


def _declared_type(db, table: str, column: str, schema: str | None = None):
    prefix = f"{quote_ident(schema)}." if schema else ""
    for row in db.execute_sql(f"PRAGMA {prefix}table_info({quote_ident(table)})").fetchall():
        if row[1] == column:
            return (row[2] or "").strip().upper()
    return None


def is_scaled(db, table: str, column: str, schema: str | None = None) -> bool:
    """Whether ``table.column`` holds a decimal in store 0.1's scaled form."""
    if db.features.native_decimal:
        return False
    # store 0.1 declared INTEGER(p, s); a plain INTEGER is an integer column
    # (say, one the models now declare a decimal, with its migration pending)
    declared = _declared_type(db, table, column, schema) or ""
    return re.fullmatch(r"INTEGER\s*\(\s*\d+\s*,\s*\d+\s*\)", declared) is not None


def scaled_decimal_columns(db, models, *, unqualified=False) -> list[str]:
    """``table.column`` of each DecimalField of ``models`` whose existing
    SQLite column is in store 0.1's scaled-integer form. ``unqualified``:
    look the tables up by name alone (a namespace opened as the database
    itself, as migrations run), not in the models' schema."""
    if db.features.native_decimal:
        return []
    found = []
    for model in models:
        meta = model._meta
        schema = None if unqualified else meta.schema
        decimals = [f for f in meta.sorted_fields if isinstance(f, DecimalField)]
        if not decimals or not db.table_exists(meta.table_name, schema):
            continue
        for field in decimals:
            if is_scaled(db, meta.table_name, field.column_name, schema):
                found.append(f"{meta.table_name}.{field.column_name}")
    return found


def refuse_scaled_decimals(db, models, app: str | None = None, *, unqualified=False) -> None:
    """Raise MigrationError if any of ``models`` has a column in the old form."""
    found = scaled_decimal_columns(db, models, unqualified=unqualified)
    if not found:
        return
    where = f"app {app!r}: " if app else ""
    raise MigrationError(
        f"{where}{len(found)} decimal column(s) hold store 0.1's scaled integers "
        f"({', '.join(found)}); store reads decimals as the number itself and would "
        f"read these wrong. Run `store migrate` if a pending migration converts them "
        f"(the seed apps ship one); otherwise write it: `store create convert_decimals "
        f"--app {app or 'APP'}`, then in its migrate() one line per column, "
        f"migrator.upgrade_decimal_storage('TABLE', 'COLUMN', store.DecimalField(P, S)).",
        app=app)


def upgraded_column(text: str, field: DecimalField) -> str:
    """A column definition of the old form (``"price" INTEGER(10, 2) NOT NULL
    DEFAULT 150``) with the new type and its DEFAULT as the number."""
    # the type is the word (and its parenthesised modifiers) after the name
    match = re.match(r'\s*("(?:[^"]|"")*"|\S+)\s+([A-Za-z]+(?:\s*\([^)]*\))?)', text)
    if match is None:
        raise MigrationError(f"cannot read the column definition {text!r}")
    rest = _DEFAULT_NUMBER.sub(
        lambda m: m.group(1) + str(Decimal(m.group(2)).scaleb(-field.decimal_places)),
        text[match.end(2):], count=1)
    return f"{text[:match.start(2)]}NUMERIC({field.max_digits}, {field.decimal_places}){rest}"
