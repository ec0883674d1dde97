"""products: see docs/architecture.md."""
