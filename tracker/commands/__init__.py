"""Command groups of the `tracker` CLI that live in their own modules (each has register(cli))."""
