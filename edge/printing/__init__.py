"""printing: see docs/architecture.md."""
