"""The dispatch round: synchronous, `now` as an argument, no I/O library."""
