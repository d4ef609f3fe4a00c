"""`python -m dialer` runs the command line."""

from dialer.cli import main

raise SystemExit(main())
