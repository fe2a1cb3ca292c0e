"""MOV core: the pure domain, the ports it needs, and the use cases over them."""
