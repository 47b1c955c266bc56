"""DataFrames and back, the same on both backends: JSON stays Python objects,
decimals stay Decimal (unless asked), timestamps aware, UUIDs UUID; rows
from a DataFrame go through the model's validation, all or nothing."""
from __future__ import annotations

import datetime as dt
import enum
import sys
import uuid
from decimal import Decimal

import pytest

import store
from store.frames import MissingExtra

pd = pytest.importorskip("pandas")


class Tone(enum.Enum):
    WARM = "warm"
    COOL = "cool"


def columns():
    """The same fields for the source and the copy table."""
    return dict(
        code=store.CharField(max_length=10, unique=True),
        price=store.DecimalField(12, 3, null=True),
        doc=store.JSONField(null=True),
        tone=store.EnumField(Tone, null=True),
        ref=store.UUIDField(null=True),
        at=store.DateTimeTZField(null=True),
        day=store.DateField(null=True),
        qty=store.IntegerField(null=True),
        big=store.BigIntegerField(default=0),
        ratio=store.DoubleField(null=True),
        ok=store.BooleanField(null=True),
    )


class Meta:
    checks = [store.Check("qty_positive", "qty > 0")]


Sample = type("Sample", (store.Model,), {**columns(), "Meta": Meta, "__module__": __name__})
SampleCopy = type("SampleCopy", (store.Model,),
                  {**columns(), "Meta": type("Meta", (), {"checks": Meta.checks}),
                   "__module__": __name__})

REF = uuid.UUID("0f0e0d0c-0b0a-4908-8706-050403020100")
AT = dt.datetime(2025, 12, 31, 23, 59, 58, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
ROWS = [
    dict(code="A", price=Decimal("1234567.891"), doc={"k": [1, 2.5, "x"], "nested": {"ok": True}},
         tone=Tone.WARM, ref=REF, at=AT, day=dt.date(2026, 2, 28), qty=3, big=2 ** 40,
         ratio=0.1, ok=True),
    dict(code="B", price=Decimal("0.001"), doc=["list", None], tone=Tone.COOL, qty=None,
         big=-1, ratio=None, ok=False),
    dict(code="C", doc="just a string", qty=7),
    dict(code="D", price=None, doc=None),
]


@pytest.fixture
def samples(tables):
    tables(Sample, SampleCopy)
    for row in ROWS:
        Sample.create(**row)
    return Sample.select().order_by(Sample.code)


def values(model):
    fields = [f.name for f in model._meta.sorted_fields if f.name != "id"]
    return [tuple(getattr(r, f) for f in fields) for r in model.select().order_by(model.code)]


def test_to_frame_keeps_the_model_values(samples):
    df = store.to_frame(samples)
    assert list(df.columns) == ["id", "code", "price", "doc", "tone", "ref", "at", "day", "qty",
                                "big", "ratio", "ok"]
    assert df.price.dtype == object and df.doc.dtype == object and df.ref.dtype == object
    assert df.price.tolist() == [Decimal("1234567.891"), Decimal("0.001"), None, None]
    assert all(isinstance(v, Decimal) for v in df.price.dropna())
    assert df.doc.tolist() == [{"k": [1, 2.5, "x"], "nested": {"ok": True}}, ["list", None],
                               "just a string", None]
    assert str(df["at"].dtype).startswith("datetime64[") and str(df["at"].dt.tz) == "UTC"
    assert df["at"][0].to_pydatetime() == AT and pd.isna(df["at"][1])
    assert df.ref[0] == REF and isinstance(df.ref[0], uuid.UUID) and df.ref[1] is None
    assert df.tone.tolist()[:2] == ["warm", "cool"] and pd.isna(df.tone[2])
    assert (df.tone == "warm").sum() == 1                      # values: comparable to text
    assert str(df.qty.dtype) == "Int64" and df.qty.tolist()[0] == 3 and pd.isna(df.qty[1])
    assert str(df.big.dtype) == "int64" and df.big.tolist() == [2 ** 40, -1, 0, 0]
    assert str(df.ok.dtype) == "boolean" and df.ok.tolist()[:2] == [True, False]
    assert str(df.ratio.dtype) == "float64" and df.ratio[0] == 0.1
    assert df.day[0] == dt.date(2026, 2, 28)


def test_to_frame_options(samples):
    floats = store.to_frame(samples, decimals="float")
    assert str(floats.price.dtype) == "float64" and floats.price[0] == 1234567.891
    members = store.to_frame(samples, enums="member", index="code")
    assert members.loc["A", "tone"] is Tone.WARM and members.index.name == "code"
    total = store.to_frame(Sample.select(Sample.price.sum().alias("total")))
    assert total.total.tolist() == [Decimal("1234567.892")]     # an expression: by its values
    whole = store.to_frame(Sample)                               # a model: its whole table
    assert len(whole) == 4
    listed = store.to_frame(list(samples))                       # model instances
    assert listed.price.tolist() == store.to_frame(samples).price.tolist()
    shown = store.table(samples, max_rows=2).to_frame()          # what a table shows
    assert shown.code.tolist() == ["A", "B"] and shown.price[0] == Decimal("1234567.891")
    with pytest.raises(ValueError, match="decimals must be one of 'decimal', 'float'"):
        store.to_frame(samples, decimals="double")


def test_round_trip_through_a_dataframe(samples):
    df = store.to_frame(samples)
    assert store.from_frame(SampleCopy, df.drop(columns=["id"])) == 4
    assert values(SampleCopy) == values(Sample)
    copied = SampleCopy.get(SampleCopy.code == "A")
    assert copied.at == AT and copied.price == Decimal("1234567.891") and copied.ref == REF
    assert copied.doc == {"k": [1, 2.5, "x"], "nested": {"ok": True}}


def test_round_trip_with_float_decimals_and_a_field_index(samples):
    df = store.to_frame(samples, decimals="float", index="code").drop(columns=["id"])
    assert store.from_frame(SampleCopy, df) == 4                # the named index is a field
    assert [r.price for r in SampleCopy.select().order_by(SampleCopy.code)] == \
        [Decimal("1234567.891"), Decimal("0.001"), None, None]


def test_from_frame_validates_every_row_and_inserts_all_or_nothing(samples):
    good = {"code": "N1", "qty": 1}
    bad_enum = pd.DataFrame([good, {"code": "N2", "tone": "lukewarm"}])
    with pytest.raises(store.ValidationError) as refused:
        store.from_frame(SampleCopy, bad_enum)
    assert refused.value.field == "sample_copy.tone"
    naive = pd.DataFrame({"code": ["N3"], "at": [pd.Timestamp("2026-01-01 10:00")]})
    with pytest.raises(store.ValidationError, match="naive datetime") as refused:
        store.from_frame(SampleCopy, naive)
    assert refused.value.field == "sample_copy.at"
    # the database's CHECK, in the second batch: the first batch is rolled back too
    checked = pd.DataFrame([{"code": f"K{i}", "qty": 1} for i in range(5)]
                           + [{"code": "K9", "qty": 0}])
    with pytest.raises(store.CheckViolation) as broken:
        store.from_frame(SampleCopy, checked, batch_size=5)
    assert broken.value.constraint == "ck_sample_copy_qty_positive"
    assert SampleCopy.select().count() == 0
    assert store.from_frame(SampleCopy, checked.iloc[:5], batch_size=2) == 5
    assert sorted(r.code for r in SampleCopy.select()) == ["K0", "K1", "K2", "K3", "K4"]


def test_from_frame_refuses_unknown_columns(samples):
    with pytest.raises(store.ValidationError, match="'colour' is no field of SampleCopy") as e:
        store.from_frame(SampleCopy, pd.DataFrame({"code": ["X"], "colour": ["red"]}))
    assert e.value.field == "sample_copy.colour"
    with pytest.raises(store.ValidationError, match="index 'name' is no field"):
        store.from_frame(SampleCopy, pd.DataFrame({"code": ["X"]}, index=pd.Index(["a"],
                                                                               name="name")))
    with pytest.raises(TypeError, match="needs a pandas DataFrame"):
        store.from_frame(SampleCopy, [{"code": "X"}])
    assert SampleCopy.select().count() == 0


def test_missing_pandas_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)        # as if not installed
    with pytest.raises(MissingExtra, match=r"pip install 'store\[pandas\]'") as missing:
        store.to_frame([{"a": 1}])
    assert missing.value.extra == "pandas" and isinstance(missing.value, ImportError)
    with pytest.raises(ImportError, match="store.from_frame needs pandas"):
        store.from_frame(Sample, object())
