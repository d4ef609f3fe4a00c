"""Configuration files: campaign and service."""
