"""The inventory app (seed 000): warehouse stock counted from photos.

    python examples/inventory.py [DATABASE_URL]

Migrates the app into its namespace ``inventory`` (a PostgreSQL schema, or
the file ``<name>.inventory.db`` beside a SQLite file; a temporary SQLite
file by default), builds a small nursery (a greenhouse with benches and
bins, a product catalogue, batches and stock movements, one photo session
with detections and estimations), then runs the typical queries: locations
inside a rectangle of the floor plan (an index on both backends), one
location with its bins and their latest batches in three queries, stock on
hand per product, a batch's movements, photo estimates against the books,
and the CHECKs that keep stock consistent.
"""
import datetime as dt
import uuid

from peewee import fn

import store
from common import example_database, show
from store.apps.inventory import (BatchStatus, Classification, Detection, Estimation,
                                  EstimationMethod, ImageContentType, MovementType,
                                  PhotoProcessingSession, Product, ProductCategory,
                                  ProductFamily, ProductSize, S3Image, SessionStatus,
                                  StockBatch, StockMovement, StorageArea, StorageBin,
                                  StorageBinType, StorageLocation, User, UserRole,
                                  Warehouse, load_location)
from store.geo import within
from store.partitions import create_partitions

DAY = dt.date(2026, 3, 16)
T0 = dt.datetime(2026, 3, 16, 7, 30, tzinfo=dt.timezone.utc)


def rect(x0, y0, x1, y1):
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def seed(db):
    worker = User.create(email="sam@nursery.example", full_name="Sam Reyes",
                         role=UserRole.WORKER)
    site = Warehouse.create(code="GH-NORTH", name="North greenhouses",
                            geometry=rect(0, 0, 120, 60))
    hall = StorageArea.create(warehouse=site, code="HALL-A", name="Hall A",
                              geometry=rect(0, 0, 60, 60))
    locations = [StorageLocation.create(storage_area=hall, code=code, name=f"Bench {code}",
                                        geometry=rect(x, y, x + 20, y + 4))
                 for code, x, y in [("B01", 5, 5), ("B02", 5, 15), ("B03", 35, 40)]]
    tray = StorageBinType.create(code="TRAY-60", name="60-cell tray", capacity=60,
                                 length_cm=53, width_cm=31, height_cm=6)
    bins = {f"{loc.code}-{n}": StorageBin.create(storage_location=loc, storage_bin_type=tray,
                                                 code=f"{loc.code}-{n}")
            for loc in locations for n in (1, 2)}
    herbs = ProductCategory.create(code="HERBS", name="Herbs")
    basil_family = ProductFamily.create(category=herbs, code="BASIL", name="Basil")
    products = {sku: Product.create(family=basil_family, sku=sku, name=name, size=size,
                                    attributes={"organic": organic, "pot_cm": pot})
                for sku, name, size, organic, pot in [
                    ("BAS-GEN-S", "Genovese basil", ProductSize.S, True, 9),
                    ("BAS-THA-S", "Thai basil", ProductSize.S, False, 9),
                    ("BAS-GEN-L", "Genovese basil, large", ProductSize.L, True, 14)]}
    batches = {}
    for code, sku, bin_code, qty, hours in [
            ("LOT-0301", "BAS-GEN-S", "B01-1", 60, 0), ("LOT-0302", "BAS-GEN-S", "B01-1", 60, 1),
            ("LOT-0303", "BAS-THA-S", "B01-2", 45, 2), ("LOT-0304", "BAS-GEN-L", "B02-1", 30, 3),
            ("LOT-0305", "BAS-GEN-S", "B03-1", 60, 4)]:
        batch = StockBatch.create(batch_code=code, product=products[sku],
                                  storage_bin=bins[bin_code], quantity_initial=qty,
                                  quantity_current=qty, received_on=DAY,
                                  created_at=T0 + dt.timedelta(hours=hours))
        StockMovement.create(stock_batch=batch, movement_type=MovementType.RECEIPT,
                             quantity=qty, to_bin=bins[bin_code], user=worker,
                             occurred_at=T0 + dt.timedelta(hours=hours))
        batches[code] = batch
    # sell 12 of LOT-0301, move LOT-0303 to another bench
    lot = batches["LOT-0301"]
    StockMovement.create(stock_batch=lot, movement_type=MovementType.SALE, quantity=12,
                         from_bin=lot.storage_bin, user=worker,
                         occurred_at=T0 + dt.timedelta(hours=6))
    StockBatch.update(quantity_current=StockBatch.quantity_current - 12).where(
        StockBatch.id == lot.id).execute()
    thai = batches["LOT-0303"]
    StockMovement.create(stock_batch=thai, movement_type=MovementType.TRANSFER, quantity=45,
                         from_bin=bins["B01-2"], to_bin=bins["B02-2"], user=worker,
                         occurred_at=T0 + dt.timedelta(hours=7))
    StockBatch.update(storage_bin=bins["B02-2"]).where(StockBatch.id == thai.id).execute()

    # one photo of bench B01, counted by the detection model
    create_partitions(db, Detection, DAY, 1)           # PostgreSQL: the day's partitions
    create_partitions(db, Estimation, DAY, 1)          # SQLite: plain tables, nothing to do
    image = S3Image.create(image_id=uuid.UUID("5e0f3c1a-0000-4000-8000-000000000001"),
                           bucket="nursery-photos", object_key="2026/03/16/b01.jpg",
                           content_type=ImageContentType.JPEG, size_bytes=2_400_000,
                           width_px=4032, height_px=3024, captured_at=T0 + dt.timedelta(hours=8),
                           uploaded_by=worker)
    label = Classification.create(model_version="yolo-basil-2", label="basil_small",
                                  product=products["BAS-GEN-S"], product_size=ProductSize.S)
    session = PhotoProcessingSession.create(
        image=image, storage_location=locations[0], user=worker, model_version="yolo-basil-2",
        status=SessionStatus.COMPLETED, started_at=T0 + dt.timedelta(hours=8),
        completed_at=T0 + dt.timedelta(hours=8, seconds=40), total_detected=3)
    Detection.insert_many([{"captured_on": DAY, "session": session, "classification": label,
                            "center_x": 100.0 * i, "center_y": 80.0, "width": 40.0,
                            "height": 38.0, "confidence": c}
                           for i, c in enumerate([0.94, 0.88, 0.71], start=1)]).execute()
    Estimation.create(captured_on=DAY, session=session, storage_bin=bins["B01-1"],
                      classification=label, method=EstimationMethod.DETECTION_COUNT,
                      estimated_count=104, confidence=0.86)
    return bins


def main():
    with example_database("inventory") as db:
        with db.atomic():
            bins = seed(db)
        inside = (within(StorageLocation, (0, 0, 30, 25), StorageLocation.select(
                      StorageLocation.code, StorageLocation.name))
                  .order_by(StorageLocation.code))
        show("benches inside the rectangle (0, 0)-(30, 25) of the floor plan", inside)

        bench = load_location(StorageLocation.get(StorageLocation.code == "B01").id, latest=2)
        show(f"{bench.code}: bins and their latest batches (3 queries)",
             [{"bin": b.code, "type": b.storage_bin_type.code,
               "latest batches": ", ".join(f"{x.batch_code} ({x.quantity_current})"
                                           for x in b.batches)} for b in bench.bins])

        on_hand = (Product.select(Product.sku, fn.COUNT(StockBatch.id).alias("batches"),
                                  fn.SUM(StockBatch.quantity_current).alias("on_hand"))
                   .join(StockBatch)
                   .where(StockBatch.status == BatchStatus.ACTIVE)
                   .group_by(Product.sku).order_by(Product.sku))
        show("stock on hand per product", on_hand)
        organic = (Product.select(Product.sku).where(Product.attributes["organic"] == True)  # noqa: E712
                   .order_by(Product.sku))
        print(f"\norganic products: {', '.join(p.sku for p in organic)}")

        history = (StockMovement.select(StockMovement.occurred_at, StockMovement.movement_type,
                                        StockMovement.quantity)
                   .join(StockBatch).where(StockBatch.batch_code == "LOT-0301")
                   .order_by(StockMovement.occurred_at))
        show("movements of LOT-0301", history)

        books = (StockBatch.select(fn.SUM(StockBatch.quantity_current))
                 .where(StockBatch.storage_bin == bins["B01-1"]).scalar())
        estimate = Estimation.get(Estimation.storage_bin == bins["B01-1"])
        sure = Detection.select().where(Detection.captured_on == DAY,
                                        Detection.confidence >= 0.8).count()
        print(f"\nbin B01-1: {books} on the books, {estimate.estimated_count} estimated "
              f"from the photo (difference {estimate.estimated_count - books}); "
              f"{sure} detections with confidence >= 0.8")

        try:
            StockMovement.create(stock_batch=StockBatch.get(StockBatch.batch_code == "LOT-0304"),
                                 movement_type=MovementType.TRANSFER, quantity=5,
                                 from_bin=bins["B02-1"], to_bin=bins["B02-1"])
        except store.CheckViolation as exc:
            print(f"refused a transfer to the same bin: {exc.constraint}")
        try:
            StockBatch.update(quantity_current=-1).where(
                StockBatch.batch_code == "LOT-0305").execute()
        except store.CheckViolation as exc:
            print(f"refused a negative stock: {exc.constraint}")
        print(f"bins in all: {StorageBin.select().count()}, "
              f"locations inside the whole site: "
              f"{within(StorageLocation, (0, 0, 120, 60)).count()}")


if __name__ == "__main__":
    main()
