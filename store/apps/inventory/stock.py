"""DB007-DB010: stock batches (what is where) and stock movements (how it
got there). Quantities can never be negative; a movement's quantity is
positive and its type says the direction."""
from __future__ import annotations

import store

from .catalog import PackagingCatalog, Product
from .common import non_negative
from .enums import INBOUND, OUTBOUND, BatchStatus, MovementType
from .locations import StorageBin
from .photos import PhotoProcessingSession
from .users import User


def _values(members) -> str:
    return ", ".join(f"'{m.value}'" for m in members)


class StockBatch(store.TimestampedModel):
    """DB008 with DB010 (status). A quantity of one product in one bin."""
    batch_code = store.CharField(max_length=40, unique=True)
    product = store.ForeignKeyField(Product, backref="batches", on_delete="RESTRICT")
    # indexed by ix_stock_batches_storage_bin_id_created_at (latest per bin)
    storage_bin = store.ForeignKeyField(StorageBin, backref="batches", on_delete="RESTRICT",
                                        index=False)
    packaging_catalog = store.ForeignKeyField(PackagingCatalog, backref="batches",
                                              on_delete="RESTRICT", null=True)
    status = store.EnumField(BatchStatus, default=BatchStatus.ACTIVE)
    quantity_initial = store.IntegerField()
    quantity_current = store.IntegerField()
    received_on = store.DateField(null=True)
    notes = store.TextField(null=True)

    class Meta:
        table_name = "stock_batches"
        checks = [non_negative("quantity_initial"), non_negative("quantity_current"),
                  store.Check("depleted_is_empty",
                              f"status <> '{BatchStatus.DEPLETED.value}' "
                              f"OR quantity_current = 0")]
        indexes = ((("storage_bin", "created_at"), False),)


class StockMovement(store.Model):
    """DB007 with DB009 (type). Append-style history of a batch; which bins
    are set is CHECKed per type: inbound types only ``to_bin``, outbound
    types only ``from_bin``, a transfer both, different."""
    id = store.BigAutoField()
    stock_batch = store.ForeignKeyField(StockBatch, backref="movements",
                                        on_delete="RESTRICT", index=False)
    movement_type = store.EnumField(MovementType)
    quantity = store.IntegerField()
    from_bin = store.ForeignKeyField(StorageBin, backref="outgoing_movements",
                                     on_delete="RESTRICT", null=True)
    to_bin = store.ForeignKeyField(StorageBin, backref="incoming_movements",
                                   on_delete="RESTRICT", null=True)
    user = store.ForeignKeyField(User, backref="stock_movements", on_delete="SET NULL",
                                 null=True)
    # the photo session a count correction came from
    session = store.ForeignKeyField(PhotoProcessingSession, backref="stock_movements",
                                    on_delete="SET NULL", null=True)
    reason = store.TextField(null=True)
    occurred_at = store.DateTimeTZField(default=store.utcnow)
    created_at = store.DateTimeTZField(default=store.utcnow)

    class Meta:
        table_name = "stock_movements"
        checks = [
            store.Check("quantity_positive", "quantity > 0"),
            store.Check("inbound_bins",
                        f"movement_type NOT IN ({_values(INBOUND)}) "
                        f"OR (from_bin_id IS NULL AND to_bin_id IS NOT NULL)"),
            store.Check("outbound_bins",
                        f"movement_type NOT IN ({_values(OUTBOUND)}) "
                        f"OR (from_bin_id IS NOT NULL AND to_bin_id IS NULL)"),
            store.Check("transfer_bins",
                        f"movement_type <> '{MovementType.TRANSFER.value}' "
                        f"OR (from_bin_id IS NOT NULL AND to_bin_id IS NOT NULL "
                        f"AND from_bin_id <> to_bin_id)"),
        ]
        indexes = ((("stock_batch", "occurred_at"), False),)
