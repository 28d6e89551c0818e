"""Parsing: feed bytes to Entries (pure), canonical URLs (pure), article full text."""
