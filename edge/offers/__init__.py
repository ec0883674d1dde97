"""offers: see docs/architecture.md."""
