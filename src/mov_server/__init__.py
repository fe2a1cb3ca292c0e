"""The served process: the REST API, the web UI and Socket.IO assembled into one ASGI app."""
