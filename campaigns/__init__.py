"""Campaign policy: the pure core (validation, time zones, windows, retries, lifecycle)."""
