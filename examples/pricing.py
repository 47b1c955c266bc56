"""The pricing app (seed 002): resale prices by brand x group, exact money.

    python examples/pricing.py [DATABASE_URL]

Migrates the app (a temporary SQLite file by default), loads brand groups
and models through the app's repositories (an idempotent upsert keyed on the
seed's UNIQUE keys), then prices a few items exactly (``Decimal`` on both
backends), pages and counts, searches a JSON array, and shows the seed's
range CHECK refusing a price.
"""
from decimal import Decimal

import store
from common import example_database, show
from store.apps.pricing import BrandGroup, ProductModel
from store.apps.pricing.repositories import BrandGroupRepository, ModelRepository

def group(brand, group_name, base_price, origins, decades=(), trends=(), sensitivity="1.00"):
    return {"brand": brand, "group_name": group_name, "base_price": Decimal(base_price),
            "expected_origins": list(origins), "expected_decades": list(decades),
            "expected_trends": list(trends), "condition_sensitivity": Decimal(sensitivity)}


def model(brand, group_name, name, coefficient, features=()):
    return {"brand": brand, "group_name": group_name, "model": name,
            "coefficient": Decimal(coefficient), "expected_features": list(features)}


GROUPS = [
    group("Levi's", "jeans", "45.00", ["USA", "Mexico"], ["1970s", "1990s"],
          sensitivity="1.20"),
    group("Patagonia", "fleece", "38.50", ["USA", "El Salvador"], trends=["gorpcore"]),
    group("Nike", "sneakers", "60.00", ["Vietnam", "China"], sensitivity="1.45"),
]
MODELS = [
    model("Levi's", "jeans", "501", "1.40"),
    model("Levi's", "jeans", "Big E", "2.50", ["selvedge", "chain_stitching"]),
    model("Levi's", "jeans", "505", "1.10"),
    model("Nike", "sneakers", "Air Max 90", "1.75"),
]


def main():
    with example_database("pricing") as db:
        groups, models = BrandGroupRepository(), ModelRepository()
        with db.atomic():
            print(f"brand groups upserted: {groups.upsert(GROUPS)}")
            print(f"models upserted: {models.upsert(MODELS)}")
        print(f"the same upsert again changes {groups.upsert(GROUPS)} rows")

        jeans = groups.find_by_brand_and_group("Levi's", "jeans")
        print(f"\nLevi's jeans base price: {jeans.base_price!r}")
        show("Levi's jeans models, priced (base price x coefficient, exact)",
             [{"model": m.model, "coefficient": m.coefficient,
               "price": (jeans.base_price * m.coefficient).quantize(Decimal("0.01")),
               "expected_features": m.expected_features}
              for m in models.find_by_brand_and_group("Levi's", "jeans")])

        average = ProductModel.select(ProductModel.coefficient.avg()).scalar()
        total = BrandGroup.select(BrandGroup.base_price.sum()).scalar()
        print(f"\naverage coefficient: {average!r}; base prices sum to {total!r}")
        from_usa = (BrandGroup.select(BrandGroup.brand)
                    .where(BrandGroup.expected_origins.contains(["USA"]))
                    .order_by(BrandGroup.brand))
        print(f"groups expected from the USA: {', '.join(g.brand for g in from_usa)}")
        page = groups.get_all(page=1, per_page=2, order_by="brand")
        print(f"first page of 2 by brand: {', '.join(g.brand for g in page)} "
              f"(of {groups.count()})")

        groups.upsert([{"brand": "Nike", "group_name": "sneakers",
                        "base_price": Decimal("64.99")}], update=("base_price",))
        print(f"Nike sneakers repriced: {groups.find_by_brand_and_group('Nike', 'sneakers')!r}")
        try:
            groups.create(brand="Zara", group_name="coats", base_price=Decimal("4.99"))
        except store.CheckViolation as exc:
            print(f"refused 4.99: {exc.constraint}")
        try:
            models.create(brand="Levi's", group_name="jeans", model="501")
        except store.UniqueViolation as exc:
            print(f"refused a second 501: {exc.constraint}")


if __name__ == "__main__":
    main()
