"""Call recordings: where a recording lives inside the recordings directory, how long it is
kept, and the clean-up that deletes what is past that (issue 19)."""
