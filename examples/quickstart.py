"""The README tour, runnable: python examples/quickstart.py [DATABASE_URL]

The database is the first argument, else ``DATABASE_URL``, else SQLite (a
file quickstart.db next to you): the very same code runs on PostgreSQL.
The example creates its table ``product`` and drops it at the end; a
database that already has a ``product`` table (not this example's: it leaves
none behind) is refused and left untouched.
"""
import enum
import os
import sys
from decimal import Decimal

import store


class Status(enum.Enum):
    DRAFT = "draft"
    LIVE = "live"


class Product(store.TimestampedModel):
    sku = store.CharField(max_length=20, unique=True)
    price = store.DecimalField(10, 2)
    status = store.EnumField(Status, default=Status.DRAFT)
    attrs = store.JSONField(default=dict)

    class Meta:
        checks = [store.Check("price_positive", "price > 0")]


def main(url=None):
    url = (url or (sys.argv[1] if len(sys.argv) > 1 else None)
           or os.environ.get("DATABASE_URL") or "sqlite:///quickstart.db")
    with store.open(url, models=[Product]) as db:
        if db.table_exists(Product._meta.table_name):
            sys.exit(f"quickstart: {db.url.masked()} already has a table "
                     f"{Product._meta.table_name!r}; it is not this example's (the example "
                     f"drops its own at the end): nothing changed, use another database")
        db.create_tables([Product])
        try:
            return _tour(db)
        finally:
            db.drop_tables([Product])


def _tour(db):
    Product.create(sku="A-1", price=Decimal("9.9"), attrs={"sizes": ["S", "M"]})
    Product.create(sku="B-2", price=Decimal("20"), status=Status.LIVE,
                   attrs={"sizes": ["L"]})
    medium = Product.select().where(Product.attrs["sizes"][1] == "M").count()
    total = Product.select(Product.price.sum()).scalar()
    try:
        Product.create(sku="C-3", price=Decimal("0"))
    except store.CheckViolation as exc:
        refused = exc.constraint
    print(f"{db.url}: {Product.select().count()} products, "
          f"{medium} in size M, total {total}, refused by {refused}")
    return medium, total, refused


if __name__ == "__main__":
    main()
