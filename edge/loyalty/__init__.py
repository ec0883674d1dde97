"""loyalty: see docs/architecture.md."""
