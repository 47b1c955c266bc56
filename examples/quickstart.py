"""The README tour, runnable: python examples/quickstart.py [DATABASE_URL]

Runs on SQLite by default (a file quickstart.db next to you); set DATABASE_URL
or pass a URL to run the very same code on PostgreSQL.
"""
import enum
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
    url = url or (sys.argv[1] if len(sys.argv) > 1 else None) or "sqlite:///quickstart.db"
    with store.open(url, models=[Product]) as db:
        db.drop_tables([Product])
        db.create_tables([Product])
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
