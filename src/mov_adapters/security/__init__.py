"""Security adapters: password hashing (libpass) and bearer tokens (PyJWT)."""
