"""pickups: see docs/architecture.md."""
