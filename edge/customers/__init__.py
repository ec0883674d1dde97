"""customers: see docs/architecture.md."""
