"""Pure, synchronous business rules: no I/O, no clock, no framework."""
