"""Campaigns as the database holds them: settings with a version history (issue 21)."""
