"""Catalogue lookups for the till: by barcode scan or by name."""

from __future__ import annotations

from flask import Blueprint

from edge.products import views as products
from edge.web.context import get_db
from edge.web.models import ProductList, ProductQuery
from edge.web.routing import operation

bp = Blueprint("products", __name__)


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
