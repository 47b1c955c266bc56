"""store.erd: Mermaid and DOT diagrams from models -- types, markers, NOT NULL,
cardinality per FK kind, determinism, the Markdown docs file, the dental app,
and the diagram's nullability checked against the live schema on both backends."""
from __future__ import annotations

import enum
import re

import pytest

import store
from store.apps import dental
from store.erd import column_type, describe, erd, render_erd_docs, write_erd_docs
from store.introspect import read_schema


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Maker(store.Model):                       # serial key
    name = store.CharField(max_length=40, unique=True)


class Vault(store.Model):                       # bigserial key
    id = store.BigAutoField()


class Widget(store.Model):
    id = store.UUIDField(primary_key=True)
    maker = store.ForeignKeyField(Maker, backref="widgets", on_delete="CASCADE")
    spare_of = store.ForeignKeyField("self", null=True, backref="spares")
    vault = store.ForeignKeyField(Vault, null=True, backref="widgets")
    label = store.TextField(null=True)
    color = store.EnumField(Color)
    price = store.DecimalField(10, 2)
    data = store.JSONField(null=True)
    made_at = store.DateTimeTZField()
    count = store.IntegerField()
    big = store.BigIntegerField()
    small = store.SmallIntegerField(null=True)
    flag = store.BooleanField()
    ratio = store.FloatField()
    exact = store.DoubleField()
    day = store.DateField()
    line = store.CharField(max_length=8)
    batch = store.IntegerField()

    class Meta:
        indexes = ((("line", "batch"), True),)


class Passport(store.Model):                    # unique FKs: one-to-one
    owner = store.ForeignKeyField(Maker, unique=True)
    backup = store.ForeignKeyField(Widget, unique=True, null=True)


class Profile(store.Model):                     # FK as the primary key
    maker = store.ForeignKeyField(Maker, primary_key=True)


class Membership(store.Model):                  # composite primary key of two FKs
    maker = store.ForeignKeyField(Maker)
    widget = store.ForeignKeyField(Widget)

    class Meta:
        primary_key = store.CompositeKey("maker", "widget")


SHOP = [Maker, Vault, Widget, Passport, Profile, Membership]


def lines(text):
    return [line.strip() for line in text.splitlines()]


# --- types ---------------------------------------------------------------------------

def test_column_types():
    f = Widget._meta.fields
    assert {name: column_type(f[name]) for name in f} == {
        "id": "uuid", "maker": "integer", "spare_of": "uuid", "vault": "bigint",
        "label": "text", "color": "Color", "price": "decimal(10,2)", "data": "json",
        "made_at": "timestamptz", "count": "integer", "big": "bigint",
        "small": "smallint", "flag": "boolean", "ratio": "double", "exact": "double",
        "day": "date", "line": "varchar(8)", "batch": "integer"}
    assert column_type(Maker.id) == "serial" and column_type(Vault.id) == "bigserial"
    assert column_type(dental.User.role) == "UserRole"


# --- Mermaid --------------------------------------------------------------------------

def test_mermaid_columns_markers_and_not_null():
    out = lines(erd(SHOP))
    assert out[0] == "erDiagram"
    for line in (
            'serial id PK "NOT NULL"',
            'varchar(40) name UK "NOT NULL"',
            'uuid id PK "NOT NULL"',
            'integer maker_id FK "NOT NULL; references maker.id ON DELETE CASCADE"',
            'uuid spare_of_id FK "references widget.id"',
            'bigint vault_id FK "references vault.id"',
            "text label",
            'Color color "NOT NULL; values: red, blue"',
            'decimal(10,2) price "NOT NULL"',
            "json data",
            'timestamptz made_at "NOT NULL"',
            "smallint small",
            'varchar(8) line "NOT NULL; unique (line, batch)"',
            'integer batch "NOT NULL; unique (line, batch)"',
            'integer owner_id FK, UK "NOT NULL; references maker.id"',
            'uuid backup_id FK, UK "references widget.id"',
            'integer maker_id PK, FK "NOT NULL; references maker.id"',
            'uuid widget_id PK, FK "NOT NULL; references widget.id"'):
        assert line in out, line
    # a nullable column says nothing about NULL; a non-null one always says NOT NULL
    assert "text label" in out and 'text label "NOT NULL"' not in out


def test_mermaid_relationship_cardinality():
    out = lines(erd(SHOP))
    rels = [line for line in out if re.search(r"[|}o][|o]?(--|\.\.)", line)]
    assert rels == sorted(rels, key=lambda r: (r.split()[0], r.split()[2], r))
    expected = {
        'maker ||..o{ widget : "maker_id"',        # NOT NULL, many
        'widget |o..o{ widget : "spare_of_id"',    # nullable, self
        'vault |o..o{ widget : "vault_id"',
        'maker ||..o| passport : "owner_id"',      # unique: one-to-one
        'widget |o..o| passport : "backup_id"',    # nullable and unique
        'maker ||--o| profile : "maker_id"',       # FK is the PK: identifying, 1:1
        'maker ||--o{ membership : "maker_id"',    # part of a composite PK
        'widget ||--o{ membership : "widget_id"',
    }
    assert set(rels) == expected and len(rels) == len(expected)


def test_mermaid_syntax_of_every_line():
    attribute = re.compile(r'^[A-Za-z_][\w\-\[\]\(\),.]* [A-Za-z_]\w*'
                           r'( (PK|FK|UK)(, (PK|FK|UK))*)?( "[^"\n]*")?$')
    relation = re.compile(r'^\w+ (\|\||\|o)(--|\.\.)(o\{|o\|) \w+ : "\w+"$')
    out = lines(erd(SHOP + dental.MODELS))
    body = out[1:]
    depth = 0
    for line in body:
        if line.endswith("{") and not relation.match(line):
            assert re.fullmatch(r"\w+ \{", line) and depth == 0, line
            depth = 1
        elif line == "}":
            assert depth == 1
            depth = 0
        elif depth:
            assert attribute.match(line), line
        else:
            assert relation.match(line), line
    assert depth == 0


def test_title_front_matter():
    out = erd([Maker], title="Shop")
    assert out.startswith("---\ntitle: Shop\n---\nerDiagram\n")
    assert erd([Maker]).startswith("erDiagram\n")


def test_deterministic():
    first = erd(SHOP)
    assert erd(list(reversed(SHOP))) == first
    assert erd(SHOP) == first
    assert erd(list(reversed(SHOP)), "dot") == erd(SHOP, "dot")
    tables = [line.split()[0] for line in lines(first) if line.endswith("{")
              and "--" not in line and ".." not in line]
    assert tables == sorted(tables) == ["maker", "membership", "passport", "profile",
                                        "vault", "widget"]


def test_bad_input():
    with pytest.raises(store.ConfigError, match="format 'svg'"):
        erd(SHOP, format="svg")

    class Base(store.Model):
        class Meta:
            abstract = True

    with pytest.raises(store.ConfigError, match="abstract"):
        erd([Base])


def test_table_names_mermaid_reads_as_syntax_are_quoted():
    class Klass(store.Model):
        class Meta:
            table_name = "class"

    class Note(store.Model):
        owner = store.ForeignKeyField(Klass)

    out = lines(erd([Klass, Note]))
    assert '"class" {' in out and "class {" not in out
    assert '"class" ||..o{ note : "owner_id"' in out


def test_table_outside_the_set():
    out = erd([Widget])
    assert 'maker ||..o{ widget : "maker_id"' in lines(out)
    assert "maker {" not in lines(out)
    dot = erd([Widget], "dot")
    assert '"maker" [shape=box, style=dashed];' in lines(dot)
    assert '"widget":"maker_id" -> "maker" [label="maker_id", arrowhead=teetee, ' \
           'arrowtail=crowodot, style=dashed];' in lines(dot)


# --- DOT ------------------------------------------------------------------------------

def test_dot_edges_and_rows():
    out = lines(erd(SHOP, "dot", title="Shop"))
    assert out[0] == "digraph erd {" and out[-1] == "}"
    assert 'graph [rankdir=LR, fontname="Helvetica", label="Shop", labelloc=t];' in out
    for edge in (
            '"widget":"maker_id" -> "maker":"id" [label="maker_id", arrowhead=teetee, '
            'arrowtail=crowodot, style=dashed];',
            '"widget":"spare_of_id" -> "widget":"id" [label="spare_of_id", '
            'arrowhead=teeodot, arrowtail=crowodot, style=dashed];',
            '"passport":"owner_id" -> "maker":"id" [label="owner_id", arrowhead=teetee, '
            'arrowtail=teeodot, style=dashed];',
            '"passport":"backup_id" -> "widget":"id" [label="backup_id", '
            'arrowhead=teeodot, arrowtail=teeodot, style=dashed];',
            '"profile":"maker_id" -> "maker":"id" [label="maker_id", arrowhead=teetee, '
            'arrowtail=teeodot];',
            '"membership":"widget_id" -> "widget":"id" [label="widget_id", '
            'arrowhead=teetee, arrowtail=crowodot];'):
        assert edge in out, edge
    assert ('<tr><td port="price" align="left">price</td><td align="left">decimal(10,2)'
            '</td><td align="left"></td><td align="left">NOT NULL</td></tr>') in out
    assert ('<tr><td port="label" align="left">label</td><td align="left">text</td>'
            '<td align="left"></td><td align="left"></td></tr>') in out


def test_dot_edges_point_at_existing_ports():
    text = erd(SHOP + dental.MODELS, "dot")
    ports = {}
    for node, body in re.findall(r'^    "(\w+)" \[label=<(.*?)>\];', text, re.M | re.S):
        ports[node] = set(re.findall(r'port="(\w+)"', body))
    edges = re.findall(r'^    "(\w+)":"(\w+)" -> "(\w+)":"(\w+)"', text, re.M)
    assert len(edges) == 8 + 11
    for child, col, parent, ref in edges:
        assert col in ports[child] and ref in ports[parent]
    assert text.count("{") == text.count("}")


# --- the dental app ------------------------------------------------------------------------

DENTAL_EDGES = {
    'users ||..o{ cases : "created_by"',
    'cases ||..o{ files : "case_id"',
    'users ||..o{ files : "uploaded_by"',
    'cases ||..o{ jobs : "case_id"',
    'files |o..o{ jobs : "file_id"',
    'users ||..o{ jobs : "created_by"',
    'cases ||..o{ segments : "case_id"',
    'files ||..o{ segments : "file_id"',
    'jobs |o..o{ segments : "created_by_job"',
    'cases |o..o{ models : "case_id"',
    'users |o..o{ audit_logs : "user_id"',
}


def test_dental_erd():
    out = lines(erd(dental.MODELS, title="dental"))
    tables = [line[:-2] for line in out if re.fullmatch(r"\w+ \{", line)]
    assert tables == ["audit_logs", "cases", "files", "jobs", "models", "segments", "users"]
    rels = {line for line in out if " : " in line}
    assert rels == DENTAL_EDGES
    assert 'uuid case_id FK "NOT NULL; references cases.id"' in out
    assert 'UserRole role "NOT NULL; values: admin, operator, service"' in out
    dot = erd(dental.MODELS, "dot")
    assert dot.count(" -> ") == len(DENTAL_EDGES)


def test_dental_erd_matches_live_schema(db, tables):
    """The diagram's columns and NOT NULLs are what the database has, on both."""
    tables(*dental.MODELS)
    live = read_schema(db, tables=[m._meta.table_name for m in dental.MODELS])
    drawn, relations = describe(dental.MODELS)
    assert [t.name for t in drawn] == live.names()
    for table in drawn:
        real = live.table(table.name)
        assert [c.name for c in table.columns] == [c.name for c in real.columns]
        for col in table.columns:
            assert col.nullable == real.column(col.name).nullable, (table.name, col.name)
            assert col.primary_key == (col.name in real.primary_key)
    fks = {(t, fk.columns[0], fk.ref_table) for t in live.names()
           for fk in live.table(t).foreign_keys}
    assert fks == {(r.child, r.column, r.parent) for r in relations}


# --- the Markdown file -----------------------------------------------------------------------

def test_write_erd_docs(tmp_path):
    path = tmp_path / "docs" / "ERD.md"
    apps = {"shop": SHOP, "dental": dental.MODELS}
    assert write_erd_docs(apps, path) is True
    text = path.read_text()
    assert text == render_erd_docs(apps)
    blocks = re.findall(r"^## (\w+)\n\n```mermaid\n(.*?)```\n", text, re.M | re.S)
    assert [name for name, _ in blocks] == ["dental", "shop"]          # sorted
    assert blocks[0][1] == erd(dental.MODELS, title="dental")
    assert blocks[1][1] == erd(SHOP, title="shop")
    assert write_erd_docs(apps, path) is False                          # up to date
    path.write_text(text.replace("varchar(100)", "varchar(99)"))
    assert write_erd_docs(apps, path) is True
    assert path.read_text() == text
