"""Asterisk: the only importer of panoramisk."""
