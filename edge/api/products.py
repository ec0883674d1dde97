"""Catalogue lookups for the till: by barcode scan or by name."""

from __future__ import annotations

from edge import products
from edge.api import bp
from edge.api.context import get_db
from edge.api.routing import operation
from edge.models import ProductList, ProductQuery


@operation(
    bp,
    "/products",
    name="products.search",
    tags=["products"],
    summary="Find products by barcode or by name",
    query=ProductQuery,
    responses={200: ProductList},
)
def search(query: ProductQuery) -> ProductList:
    items = products.search(get_db(), barcode=query.barcode, q=query.q, limit=query.limit)
    return ProductList(items=items)  # type: ignore[arg-type]
