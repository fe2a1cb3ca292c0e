"""Driven adapters: concrete implementations of the core's ports, and the composition root."""
