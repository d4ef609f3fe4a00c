"""Sub-commands of `callback-dialer`, one module each."""
