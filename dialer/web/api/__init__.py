"""The ops web API under /api/v1: one module per resource, a small router, bearer tokens."""
