"""The web UI: a driving adapter beside `mov_api` that renders pages over the same use cases."""
