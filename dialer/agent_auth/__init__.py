"""Agent sign-in for the workspace: passwords, lockout, sessions and the order scope."""
