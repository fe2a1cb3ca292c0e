"""MongoDB adapters on pymongo's asyncio client: event chat history, indexes made at start-up."""
