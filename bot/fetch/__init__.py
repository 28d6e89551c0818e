"""Fetching feeds and pages politely: HTTP, host limits, poll policy, one poll of one feed, OPML."""
