"""HTTP: intake, /healthz, dashboard, ops API, /metrics."""
