"""Use cases: async functions over ports, one unit of work each, changes to the outbox."""
