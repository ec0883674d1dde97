"""sales: see docs/architecture.md."""
