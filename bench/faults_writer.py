"""One of bench/faults.py's concurrent writers: ``python faults_writer.py URL TAG N``
inserts N brand_groups rows named TAG-0 .. TAG-(N-1), one read-then-write
transaction each (the shape that turns into "database is locked" on SQLite
without a writers' queue); run in a project folder whose apps include pricing."""
import sys
from decimal import Decimal

import store


def main(url, tag, n):
    db = store.connect(url, apps=["pricing"])
    from store.apps.pricing.models import BrandGroup
    for i in range(int(n)):
        with db.atomic():
            BrandGroup.select().where(BrandGroup.brand == f"{tag}-{i}").count()
            BrandGroup.create(brand=f"{tag}-{i}", group_name="w", base_price=Decimal("9.90"))
    db.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
