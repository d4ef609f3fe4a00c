"""``/agent``: the agent's workspace over a session cookie (sign-in, the agent's own orders)."""
