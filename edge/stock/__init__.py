"""Store stock: on hand, reserved for click-and-collect, available, and every movement."""
