"""In-memory adapters: complete implementations of the ports, the reference behaviour that
every other adapter is tested against, and the embedded fakes for tests and demos."""
