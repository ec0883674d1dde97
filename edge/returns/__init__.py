"""Returns, exchanges and voids: goods brought back to the store, from either channel."""
