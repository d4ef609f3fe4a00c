"""Alembic migrations of the dialer's schema, shipped inside the package."""
