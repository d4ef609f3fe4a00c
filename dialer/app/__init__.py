"""The running node: composition root, node role, jobs, pump, health, operations."""
