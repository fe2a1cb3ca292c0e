"""The REST API (Litestar): a thin driving adapter over `mov_core` services."""
