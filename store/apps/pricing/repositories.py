"""Repositories of the pricing app: the seed's methods on ``store.repository``.

Pure data access: no business logic, no commit (the caller's ``db.atomic()``
owns the transaction; see ``store.repository``).
"""
from __future__ import annotations

from typing import Optional

from store.repository import Repository

from .models import BrandGroup, ProductModel


class BrandGroupRepository(Repository[BrandGroup]):
    """``brand_groups``: find by (brand, group), create, page, count, upsert.

    ``get_all`` pages newest first (``created_at`` descending, then ``id``
    descending for rows created at the same instant), as the seed orders it.
    """

    model = BrandGroup
    natural_key = ("brand", "group_name")
    default_order = ("-created_at",)

    def find_by_brand_and_group(self, brand: str, group: str) -> Optional[BrandGroup]:
        """The brand group with exactly this brand and group name, or None
        (case-sensitive on both backends)."""
        return self.find_by(brand=brand, group_name=group)


class ModelRepository(Repository[ProductModel]):
    """``models``: find one (brand, group, model), list a brand x group,
    create, page (newest first), count, upsert."""

    model = ProductModel
    natural_key = ("brand", "group_name", "model")
    default_order = ("-created_at",)

    def find_by_brand_group_model(self, brand: str, group: str,
                                  model: str) -> Optional[ProductModel]:
        """The model with exactly this brand, group name and model, or None."""
        return self.find_by(brand=brand, group_name=group, model=model)

    def find_by_brand_and_group(self, brand: str, group: str) -> list:
        """Every model of this brand and group, ordered by model name (then id)."""
        return self.find_all(brand=brand, group_name=group, order_by="model")
