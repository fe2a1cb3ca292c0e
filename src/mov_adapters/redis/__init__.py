"""Redis adapters: rate limits exact across processes, and a cache shared by them."""
